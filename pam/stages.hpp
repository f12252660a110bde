// The stages of pam_hopguard, one file each. Each takes a prepared Call (begin_call) and returns
// the PAM code; public.cpp holds the entry points.
#pragma once

#include "context.hpp"

namespace hopguard::pam {

int account(Call& call);        // account.cpp
int open_session(Call& call);   // session.cpp
int close_session(Call& call);  // session.cpp
int authenticate(Call& call);   // auth.cpp
int setcred(Call& call, int flags);  // setcred.cpp

}  // namespace hopguard::pam

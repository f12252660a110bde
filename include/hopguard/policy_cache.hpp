// A loaded policy kept across calls and reloaded when its file changes, for the long-lived
// hosts of hopguard's modules (sshd, krb5kdc, every krb5 application). The identity of the file
// (device, inode, size, mtime with nanoseconds) is checked with one stat() per call.
#pragma once

#include <hopguard/policy.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace hopguard {

class PolicyCache {
 public:
  struct Snapshot {
    std::shared_ptr<const Policy> policy;  // null when no usable policy exists
    std::string error;  // why the newest version of the file is unusable; empty if it is in use
  };

  // keep_last_good: when the file changed and no longer loads, keep serving the previous policy
  // (the KDC: one bad edit must not open or close every ticket) or serve none (legacy PAM: fail
  // closed). Either way the error is returned on every call until the file is fixed.
  explicit PolicyCache(bool keep_last_good) : keep_last_good_(keep_last_good) {}

  Snapshot get(const std::string& path);

 private:
  struct FileId {
    unsigned long long dev = 0, ino = 0, size = 0;
    long long mtime_sec = 0, mtime_nsec = 0;
    bool operator==(const FileId&) const = default;
  };
  const bool keep_last_good_;
  std::mutex mu_;
  std::string path_;
  bool have_id_ = false;
  FileId id_;
  std::shared_ptr<const Policy> policy_;
  std::string error_;
};

}  // namespace hopguard

# HOPGUARD_MODULE_TEST_ENV: the test environment for tests that load a built module into a
# program not built by us (pamtester, sshd, krb5 clients). With HOPGUARD_SANITIZE=ON the modules
# need the sanitizer runtimes loaded first: the Python tests put HOPGUARD_TEST_PRELOAD first in
# LD_PRELOAD. Leak checking is left to valgrind (pam.pamtester.valgrind): those hosts leak by
# design. Included by tests/pam, tests/localauth and tests/sshd.
set(HOPGUARD_MODULE_TEST_ENV ${HOPGUARD_TEST_ENV})
if(HOPGUARD_SANITIZE)
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libasan.so
                  OUTPUT_VARIABLE hopguard_asan_rt OUTPUT_STRIP_TRAILING_WHITESPACE)
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libubsan.so
                  OUTPUT_VARIABLE hopguard_ubsan_rt OUTPUT_STRIP_TRAILING_WHITESPACE)
  list(APPEND HOPGUARD_MODULE_TEST_ENV "HOPGUARD_TEST_PRELOAD=${hopguard_asan_rt}:${hopguard_ubsan_rt}"
       "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1" "UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1")
endif()

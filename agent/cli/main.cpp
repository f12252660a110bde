// `hopguard`: check a decision, validate a config, scan files, test a rule.
#include "commands.hpp"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

int main(int argc, char** argv) {
  int exit_code = 0;
  try {
    CLI::App app{"hopguard: bastion-path enforcement and detection"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "hopguard 0.1.0");
    // The registry of subcommands: one line each.
    hopguard::cli::add_check_command(app, exit_code);
    hopguard::cli::add_config_command(app, exit_code);
#ifdef HOPGUARD_HAVE_SCANNER
    hopguard::cli::add_scan_command(app, exit_code);
    hopguard::cli::add_rules_command(app, exit_code);
#endif
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      const int rc = app.exit(e);
      return rc == 0 ? 0 : 2;  // usage errors are exit 2 everywhere (DESIGN section 6)
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hopguard: internal error: %s\n", e.what());
    return 2;
  }
  // What a command printed is its result (alarms, a verdict): one that did not reach stdout (a
  // full disk, a closed descriptor) must not pass for delivered, so it is an error (exit 2). A
  // command that already failed (exit 2) has said why.
  errno = 0;
  const bool flushed = std::fflush(stdout) == 0;
  if ((!flushed || std::ferror(stdout) != 0) && exit_code != 2) {
    std::fprintf(stderr, "hopguard: writing to standard output failed: %s\n",
                 !flushed && errno != 0 ? std::strerror(errno) : "write error");
    return 2;
  }
  return exit_code;
}

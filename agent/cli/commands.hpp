// The `hopguard` subcommands. Each adds itself to the CLI11 app and, when run, stores the
// process exit code in exit_code (0, 1 or 2 per DESIGN section 6).
#pragma once

namespace CLI {
class App;
}

namespace hopguard::cli {

void add_check_command(CLI::App& app, int& exit_code);   // check_command.cpp
void add_config_command(CLI::App& app, int& exit_code);  // config_command.cpp
#ifdef HOPGUARD_HAVE_SCANNER
void add_scan_command(CLI::App& app, int& exit_code);    // scan_command.cpp
void add_rules_command(CLI::App& app, int& exit_code);   // rules_command.cpp
#endif

}  // namespace hopguard::cli

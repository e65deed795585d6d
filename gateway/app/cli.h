// Command line (docs/operations.md): run, --check, --version.
#pragma once

namespace sluice::app {

// Parses argv, runs the requested mode and returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace sluice::app

// The command families of the engram CLI. Each adds its subcommands to the app and says what each
// one runs; main parses, then runs the chosen one. A command only turns arguments into a library
// call and prints the result: the work itself lives in src/engram.
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

namespace engram::cli {

class Commands {
 public:
  explicit Commands(int argc, const char* const* argv) : argc_(argc), argv_(argv) {}
  // The command line, for commands that start copies of themselves (--nproc).
  int argc() const { return argc_; }
  const char* const* argv() const { return argv_; }

  // What runs when `command` was chosen; it returns the process's exit code.
  void on(CLI::App* command, std::function<int()> run) { actions_.emplace_back(command, std::move(run)); }
  // Runs the chosen command (the parsed leaf).
  int run_chosen() const {
    for (const auto& [command, run] : actions_)
      if (command->parsed()) return run();
    return 2;
  }

 private:
  std::vector<std::pair<CLI::App*, std::function<int()>>> actions_;
  int argc_;
  const char* const* argv_;
};

void add_info_command(CLI::App& app, Commands& commands);       // cmd_info.cpp
void add_lm_commands(CLI::App& app, Commands& commands);         // cmd_lm.cpp: train, eval, sample, …
void add_tokenize_commands(CLI::App& app, Commands& commands);   // cmd_tokenize.cpp
void add_sim_commands(CLI::App& app, Commands& commands);        // cmd_sim.cpp
void add_policy_commands(CLI::App& app, Commands& commands);     // cmd_policy.cpp
void add_fast_commands(CLI::App& app, Commands& commands);       // cmd_fast.cpp: FAST action tokens
void add_ki_commands(CLI::App& app, Commands& commands);         // cmd_ki.cpp: knowledge insulation
void add_paper_commands(CLI::App& app, Commands& commands);      // cmd_papers.cpp: moons, capacity, quickstart

}  // namespace engram::cli

// engram — the command-line tool. It parses arguments and calls the library; each command family
// lives in its own cmd_*.cpp (apps/commands.h).
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include "commands.h"
#include "engram/core/error.h"
#include "engram/core/memory.h"
#include "engram/core/threads.h"
#include "engram/distributed/world.h"

using namespace engram;

namespace {

// A command-line mistake: one line naming the command, and exit code 2 (as for any usage error).
int usage_error(const CLI::App& app, int argc, char** argv, std::string message) {
  std::string command = "engram";
  const CLI::App* at = &app;
  int i = 1;
  for (; i < argc; ++i) {  // the subcommands named before the mistake
    const CLI::App* next = nullptr;
    for (const auto* sub : at->get_subcommands([](const CLI::App*) { return true; }))
      if (sub->get_name() == argv[i]) next = sub;
    if (!next) break;
    at = next;
    command += " " + at->get_name();
  }
  const auto subs = at->get_subcommands([](const CLI::App*) { return true; });
  if (!subs.empty() && (i >= argc || argv[i][0] != '-')) {  // a missing or misspelt command
    std::string names;
    for (const auto* sub : subs) names += (names.empty() ? "" : ", ") + sub->get_name();
    message = i < argc ? "unknown command '" + std::string(argv[i]) + "'; the commands are " + names
                       : "a command is required: " + names;
  }
  for (char& c : message)
    if (c == '\n') c = ' ';
  std::fprintf(stderr, "engram: error: %s: %s (see %s --help)\n", command.c_str(), message.c_str(), command.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  prepare_thread_pools(argv);
  keep_freed_memory();
  CLI::App app{"engram: associative-memory sequence models and real-time flow policies"};
  app.require_subcommand(1);
  app.set_version_flag("--version", ENGRAM_VERSION);
  cli::Commands commands(argc, argv);
  cli::add_info_command(app, commands);
  cli::add_lm_commands(app, commands);
  cli::add_paper_commands(app, commands);
  cli::add_tokenize_commands(app, commands);
  cli::add_sim_commands(app, commands);
  cli::add_policy_commands(app, commands);
  cli::add_fast_commands(app, commands);
  cli::add_ki_commands(app, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    return usage_error(app, argc, argv, e.what());
  }

  try {
    apply_thread_policy(default_thread_policy());
    // Ranks other than 0 of a distributed run print nothing on stdout (errors still go to stderr).
    try {
      if (const WorldInfo w = world_from_environment(); w.distributed() && !w.primary()) std::freopen("/dev/null", "w", stdout);
    } catch (const Error&) {  // malformed launcher variables are the training commands' to report
    }
    return commands.run_chosen();
  } catch (const Error& e) {
    std::fprintf(stderr, "engram: error: %s\n", e.what());
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    std::fprintf(stderr, "engram: error (LibTorch): %s\n", msg.substr(0, msg.find('\n')).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engram: error: %s\n", e.what());
  }
  return 1;
}

// Simulation: tasks, expert, demos, bench, inspect, play.
#include <cstdio>
#include <memory>

#include "cli_checks.h"
#include "commands.h"
#include "engram/core/error.h"
#include "engram/core/metrics.h"
#include "engram/sim/demo_file.h"
#include "engram/sim/demo_generation.h"
#include "engram/sim/expert_report.h"
#include "engram/sim/play.h"
#include "engram/sim/sim_bench.h"
#include "engram/sim/env.h"
#include "engram/sim/sim_task.h"
#include "engram/policy/play_policy.h"

namespace engram::cli {

namespace {

void add_expert(CLI::App& sim, Commands& commands) {
  struct Args {
    std::string task, json;
    int episodes = 100, style = -1, workers = 2;
    bool skip_done = false;
  };
  auto a = std::make_shared<Args>();
  auto* expert = sim.add_subcommand("expert", "success rate of each MPPI expert style under actuation noise");
  expert->add_option("--task", a->task, "task name (engram sim tasks)")->required();
  expert->add_option("--episodes", a->episodes, "noisy episodes per style")->check(between(1, 1000000));
  expert->add_option("--style", a->style, "only this style (default: all)")->check(between(0, 64));
  expert->add_option("--workers", a->workers, "worker threads")->check(between(1, 256));
  expert->add_option("--json", a->json, "append one JSON line per style to this file");
  expert->add_flag("--skip-done", a->skip_done, "do nothing when --json already holds this task (scripts resume with it)");
  commands.on(expert, [a] {
    if (a->skip_done && !a->json.empty() && has_expert_report(a->json, a->task, a->episodes, a->style)) {
      std::printf("%s: already in %s\n", a->task.c_str(), a->json.c_str());
      return 0;
    }
    const auto reports = evaluate_expert(a->task, a->episodes, a->style, a->workers, true);
    std::printf("%-16s %-26s %9s %17s %8s %9s\n", "task", "style", "success", "95% interval", "length", "ms/step");
    for (const auto& r : reports)
      std::printf("%-16s %-26s %4d/%-4d %7.3f–%-7.3f %8.1f %9.2f\n", r.task.c_str(), r.style.c_str(), r.successes, r.episodes,
                  r.wilson_low, r.wilson_high, r.mean_length, r.ms_per_step);
    if (!a->json.empty()) {  // all rows together, after every style ran: a stopped run leaves none
      MetricsLog log(a->json);
      for (const auto& r : reports) log.write(to_json(r));
    }
    return 0;
  });
}

void add_demos(CLI::App& sim, Commands& commands) {
  auto o = std::make_shared<DemoOptions>();
  auto* demos = sim.add_subcommand("demos", "expert demonstrations → HDF5 (robomimic layout), parallel and resumable");
  demos->add_option("--task", o->task, "task name (engram sim tasks)")->required();
  demos->add_option("--episodes", o->episodes, "episodes")->check(between(1, 10000000));
  demos->add_option("--workers", o->workers, "worker processes")->check(between(1, 256));
  demos->add_option("--seed", o->seed, "dataset seed (styles and noise of every episode follow from it)");
  demos->add_option("--out", o->out, "dataset file (.h5)")->required();
  commands.on(demos, [o] {
    const auto summary = generate_demos(*o);
    std::printf("wrote %s: %lld episodes, %lld transitions, expert success %.3f\n", o->out.c_str(),
                static_cast<long long>(summary.episodes), static_cast<long long>(summary.transitions),
                static_cast<double>(summary.successes) / static_cast<double>(summary.episodes));
    for (size_t s = 0; s < summary.per_style.size(); ++s)
      std::printf("  style %zu: %lld episodes, success %lld\n", s, static_cast<long long>(summary.per_style[s]),
                  static_cast<long long>(summary.per_style_success[s]));
    return 0;
  });
}

void add_bench(CLI::App& sim, Commands& commands) {
  struct Args {
    std::vector<std::string> tasks = sim_task_names();
    double seconds = 2.0;
    std::string json;
  };
  auto a = std::make_shared<Args>();
  auto* bench = sim.add_subcommand("bench", "env steps/s (single, batched on 1 and 2 threads) and the expert's real-time factor");
  bench->add_option("--task", a->tasks, "tasks (default: all)");
  bench->add_option("--seconds", a->seconds, "time per measurement")->check(between(0.05, 600.0));
  bench->add_option("--json", a->json, "append one JSON line per task to this file");
  commands.on(bench, [a] {
    std::printf("%-16s %12s %14s %14s %8s %13s %8s\n", "task", "steps/s (1)", "steps/s (128)", "(128, 2 thr)", "ratio",
                "expert ms/st", "RT fact");
    for (const auto& task : a->tasks) {
      const auto r = bench_sim(task, a->seconds);
      std::printf("%-16s %12.0f %14.0f %14.0f %7.2fx %13.2f %8.2f\n", task.c_str(), r["env_steps_per_s_single"].get<double>(),
                  r["env_steps_per_s_batch128_1thread"].get<double>(), r["env_steps_per_s_batch128_2threads"].get<double>(),
                  r["batch2_over_single"].get<double>(), r["expert_ms_per_step"].get<double>(),
                  r["expert_real_time_factor"].get<double>());
      if (!a->json.empty()) MetricsLog(a->json).write(r);
    }
    return 0;
  });
}

void add_inspect(CLI::App& sim, Commands& commands) {
  auto path = std::make_shared<std::string>();
  auto* inspect = sim.add_subcommand("inspect", "validate a demonstration dataset and summarise it");
  inspect->add_option("dataset", *path, "dataset file (.h5)")->required();
  commands.on(inspect, [path] {
    const auto data = read_demos(*path);
    const auto s = summarize(data);
    const auto styles = data.env_args.value("styles", nlohmann::json::array());
    const double n = static_cast<double>(std::max<int64_t>(1, s.episodes));
    std::printf("%s: task %s, obs %d-D, action %d-D, %lld episodes, %lld transitions (mean length %.1f), success %.3f\n",
                path->c_str(), data.env_args.value("env_name", std::string("?")).c_str(), data.env_args["obs_dim"].get<int>(),
                data.env_args["action_dim"].get<int>(), static_cast<long long>(s.episodes),
                static_cast<long long>(s.transitions), static_cast<double>(s.transitions) / n,
                static_cast<double>(s.successes) / n);
    for (size_t k = 0; k < s.per_style.size(); ++k) {
      if (s.per_style[k] == 0) continue;
      std::printf("  style %zu %-26s %5lld episodes, success %.3f\n", k,
                  k < styles.size() ? styles[k].get<std::string>().c_str() : "?", static_cast<long long>(s.per_style[k]),
                  static_cast<double>(s.per_style_success[k]) / static_cast<double>(s.per_style[k]));
    }
    return 0;
  });
}

void add_play(CLI::App& sim, Commands& commands) {
  struct Args {
    PlayOptions options;
    bool expert = false;
    std::string policy;
    int shift = 1;
  };
  auto a = std::make_shared<Args>();
  auto& popt = a->options;
  auto* play = sim.add_subcommand("play", "watch one expert episode: animated GIF and a contact sheet");
  play->add_option("--task", popt.task, "task name (engram sim tasks; with --policy, default: the policy's)");
  auto* expert_opt = play->add_flag("--expert", a->expert, "the task's scripted expert acts");
  auto* policy_opt = play->add_option("--policy", a->policy, "a policy checkpoint acts (engram policy train)");
  expert_opt->excludes(policy_opt);
  play->add_option("--shift", a->shift, "with --policy: actions executed per chunk")->check(between(1, 1024));
  play->add_option("--style", popt.style, "expert style");
  play->add_option("--episode", popt.episode, "noise stream: episode number of a dataset with --seed");
  play->add_option("--seed", popt.seed, "dataset seed");
  play->add_option("--render", popt.gif, "animated GIF to write");
  play->add_option("--sheet", popt.sheet, "PNG contact sheet of 8 frames to write");
  play->add_option("--size", popt.size, "frame size in pixels");
  commands.on(play, [a] {
    const auto& popt = a->options;
    if (!a->expert && a->policy.empty()) throw Error("sim play: choose who acts, --expert or --policy CKPT");
    if (a->expert && popt.task.empty()) throw Error("sim play: --task is required with --expert");
    const auto r = a->expert ? play_expert(popt) : play_policy(a->policy, popt, a->shift);
    std::printf("%s, %s: %s after %d steps\n", popt.task.empty() ? "policy's task" : popt.task.c_str(),
                a->expert ? ("expert style " + std::to_string(popt.style) + " (" + r.style + ")").c_str() : r.style.c_str(),
                r.success ? "success" : "failure", r.steps);
    if (!popt.gif.empty()) std::printf("wrote %s\n", popt.gif.c_str());
    if (!popt.sheet.empty()) std::printf("wrote %s\n", popt.sheet.c_str());
    return 0;
  });
}

}  // namespace

void add_sim_commands(CLI::App& app, Commands& commands) {
  auto* sim = app.add_subcommand("sim", "tasks (planar MuJoCo, TableWorld): expert success, demonstrations, watching episodes");
  sim->require_subcommand(1);
  auto* tasks = sim->add_subcommand("tasks", "list the tasks");
  commands.on(tasks, [] {
    for (const auto& name : world_names()) std::printf("%-18s %s\n", name.c_str(), open_world(name)->description().c_str());
    return 0;
  });
  add_expert(*sim, commands);
  add_demos(*sim, commands);
  add_bench(*sim, commands);
  add_inspect(*sim, commands);
  add_play(*sim, commands);
}

}  // namespace engram::cli

// Flow policies: train, eval (under simulated delay), plot, run (in wall-clock time).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli_checks.h"
#include "commands.h"
#include "config_flags.h"
#include "engram/distributed/local_group.h"
#include "engram/core/config.h"
#include "engram/core/error.h"
#include "engram/core/metrics.h"
#include "engram/core/threads.h"
#include "engram/policy/delay_harness.h"
#include "engram/policy/delay_plots.h"
#include "engram/policy/delay_results.h"
#include "engram/policy/policy_trainer.h"
#include "engram/policy/realtime_runner.h"
#include "engram/policy/torchscript_policy.h"
#include "engram/runtime/mixer_velocity.h"

namespace engram::cli {

namespace {

void add_train(CLI::App& policy, Commands& commands) {
  struct Args {
    std::string config, data, out, resume;
    std::vector<std::string> sets;
    bool quiet = false;
    int64_t stop_after = -1;
    int nproc = 1;
  };
  auto a = std::make_shared<Args>();
  auto* train = policy.add_subcommand("train", "flow matching on a demonstration dataset into a run directory");
  train->add_option("--data", a->data, "demonstration dataset (.h5, engram sim demos)");
  train->add_option("--config", a->config, "JSON {\"model\": {...}, \"train\": {...}}");
  train->add_option("--set", a->sets, "override a key, e.g. --set train.steps=2000 (repeatable)");
  train->add_option("--out", a->out, "run directory");
  train->add_option("--resume", a->resume, "continue the run in this directory from its checkpoint");
  train->add_flag("--quiet", a->quiet, "no progress bar");
  train->add_option("--stop-after", a->stop_after, "stop with a checkpoint after this step (continue later with --resume)")
      ->check(positive);
  train->add_option("--nproc", a->nproc, "train data-parallel in this many local processes (as torchrun --nproc_per_node)")
      ->check(between(1, 1024));
  commands.on(train, [a, &commands] {
    if (a->nproc > 1) return run_local_group(a->nproc, arguments_without_nproc(commands.argc(), commands.argv()));
    PolicyRunOptions ro;
    ro.verbose = !a->quiet;
    ro.stop_after = a->stop_after;
    ro.resume = !a->resume.empty();
    if (ro.resume && !a->out.empty() && a->out != a->resume)
      throw Error("--resume and --out name different folders; a resumed run stays in its own folder");
    nlohmann::json config = a->config.empty() ? nlohmann::json::object() : read_config_file(a->config);
    if (!a->data.empty()) config["train"]["data"] = a->data;
    for (const auto& s : a->sets) apply_override(config, s);
    ro.out = ro.resume ? a->resume : a->out;
    if (ro.out.empty()) throw Error("policy train: --out DIR is required (or --resume DIR)");
    const auto s = train_policy(config, ro);
    if (s.already_finished)
      std::printf("run %s has already finished; nothing trained (resume with --set train.steps=N, N > %lld, to train further)\n",
                  ro.out.c_str(), static_cast<long long>(s.steps));
    std::printf("%s %lld steps: train loss %.4f, held-out loss %.4f; checkpoint %s\n", s.already_finished ? "finished" : "trained",
                static_cast<long long>(s.steps), s.train_loss, s.val_loss, s.checkpoint.c_str());
    if (s.ranks > 1 && !s.already_finished)
      std::printf("%s\n", data_parallel_report(s).c_str());
    return 0;
  });
}

void add_eval(CLI::App& policy, Commands& commands) {
  struct Args {
    std::string ckpt, script, weak, json;
    bool skip_done = false;
    PolicyRuntime runtime = PolicyRuntime::kAuto;
    std::unique_ptr<ConfigFlags<DelayEvalOptions>> settings;
  };
  auto a = std::make_shared<Args>();
  auto* eval = policy.add_subcommand("eval", "solve rate under a simulated inference delay (RTC spec §5)");
  auto* ckpt_opt = eval->add_option("--ckpt", a->ckpt, "policy checkpoint");
  eval->add_option("--torchscript", a->script, "a TorchScript velocity network instead (signature: README, needs --task)")
      ->excludes(ckpt_opt);
  eval->add_option("--weak", a->weak, "BID's weak checkpoint (default: weak.safetensors beside --ckpt)");
  eval->add_option("--json", a->json, "append the result as one JSON line to this file");
  eval->add_flag("--skip-done", a->skip_done, "do nothing when --json already holds this evaluation (scripts resume with it)");
  add_choice(eval, "--runtime", a->runtime, "where the velocity network runs: LibTorch, engram's runtime (mixer policies), or auto (the runtime where it can)");
  a->settings = std::make_unique<ConfigFlags<DelayEvalOptions>>(eval);
  commands.on(eval, [a] {
    DelayEvalOptions deo = a->settings->resolve();
    if (a->ckpt.empty() == a->script.empty()) throw Error("policy eval: give --ckpt CKPT or --torchscript FILE");
    LoadedPolicy loaded;
    std::shared_ptr<FlowPolicy> policy;
    if (!a->script.empty()) {
      if (deo.task.empty()) throw Error("policy eval: --torchscript needs --task");
      policy = std::make_shared<TorchScriptPolicy>(a->script);
    } else {
      loaded = load_policy(a->ckpt);
      if (deo.task.empty()) deo.task = loaded.config["env"]["env_name"].get<std::string>();
      policy = on_runtime(loaded.policy, a->runtime);
    }
    LoadedPolicy weak;
    if (deo.method == ChunkMethod::kBid && deo.bid_contrast > 0) {
      std::string weak_path = a->weak;
      if (weak_path.empty() && a->ckpt.empty()) throw Error("policy eval: BID with --torchscript needs --weak or --bid-contrast 0");
      if (weak_path.empty()) {
        weak_path = weak_checkpoint_beside(a->ckpt);
        if (!std::filesystem::exists(weak_path))
          throw Error("policy eval: BID's forward contrast needs the weak checkpoint " + weak_path +
                      " (written at train.weak_step); pass --weak CKPT or --bid-contrast 0");
      }
      weak = load_policy(weak_path);
      weak.policy = on_runtime(weak.policy, a->runtime);
      deo.weak = weak.policy.get();
    }
    if (!a->settings->given().contains("shift")) deo.shift = std::max(deo.delay, 1);  // as the delay plots choose it
    const std::string source = a->ckpt.empty() ? a->script : a->ckpt;
    if (a->skip_done && !a->json.empty() && has_delay_result(a->json, source, deo)) {
      std::printf("%s %s d=%d s=%d: already in %s\n", deo.task.c_str(), name_of(deo.method).c_str(), deo.delay, deo.shift,
                  a->json.c_str());
      return 0;
    }
    const auto r = evaluate_under_delay(*policy, deo);
    std::printf("%s %s d=%d s=%d: solved %lld/%lld = %.3f (95%% %.3f–%.3f), %.1f s\n", deo.task.c_str(), name_of(deo.method).c_str(),
                deo.delay, deo.shift, static_cast<long long>(r.successes), static_cast<long long>(r.episodes), r.solve_rate(),
                r.wilson_low, r.wilson_high, r.seconds);
    if (!a->json.empty()) MetricsLog(a->json).write(delay_result_row(source, deo, r));
    return 0;
  });
}

void add_plot(CLI::App& policy, Commands& commands) {
  struct Args {
    std::vector<std::string> results;
    std::string prefix, title = "RTC";
  };
  auto a = std::make_shared<Args>();
  auto* plot = policy.add_subcommand("plot", "solve rate vs delay and vs execution horizon, from policy eval --json files");
  plot->add_option("--results", a->results, "result files (one per task; cells all of them have are pooled)")->required();
  plot->add_option("--out", a->prefix, "writes OUT-delay.png and OUT-horizon.png")->required();
  plot->add_option("--title", a->title, "plot title");
  commands.on(plot, [a] {
    std::printf("%s", plot_delay_results(pool_delay_results(a->results), a->prefix, a->title).c_str());
    return 0;
  });
}

void add_run(CLI::App& policy, Commands& commands) {
  struct Args {
    std::string ckpt, json;
    PolicyRuntime runtime = PolicyRuntime::kAuto;
    RealtimeOptions options;
  };
  auto a = std::make_shared<Args>();
  auto& rto = a->options;
  auto* run = policy.add_subcommand("run", "drive a task in wall-clock time: a control thread and an inference thread (RTC spec §4)");
  run->add_option("--ckpt", a->ckpt, "policy checkpoint")->required();
  run->add_option("--task", rto.task, "task (default: the one the policy was trained on)");
  add_choice(run, "--method", rto.method, "how chunks are executed",
             {ChunkMethod::kRtc, ChunkMethod::kRtcHard, ChunkMethod::kNaive});
  run->add_option("--hz", rto.hz, "control rate")->check(between(0.1, 1000.0));
  run->add_option("--latency-ms", rto.latency_ms, "pad every inference to at least this long (d ≈ latency / tick)")
      ->check(between(0.0, 60000.0));
  run->add_option("--min-shift", rto.min_shift, "s_min: actions executed before the next inference starts")->check(between(1, 1024));
  run->add_option("--queue", rto.queue_length, "b: plan for the max of the last b measured delays")->check(between(1, 1024));
  run->add_option("--episodes", rto.episodes, "episodes, one after another")->check(between(1, 100000));
  run->add_option("--seed", rto.seed, "seed of the actuation and policy noise");
  run->add_option("--json", a->json, "append the report as one JSON line to this file");
  add_choice(run, "--runtime", a->runtime, "where the velocity network runs: engram's runtime (mixer policies), LibTorch, or auto (the runtime where it can)");
  commands.on(run, [a] {
    RealtimeOptions rto = a->options;
    auto loaded = load_policy(a->ckpt);
    if (rto.task.empty()) rto.task = loaded.config["env"]["env_name"].get<std::string>();
    // One intra-op thread for inference leaves the other core to the control thread and physics.
    apply_thread_policy(ThreadPolicy{1, 1});
    const auto policy = on_runtime(loaded.policy, a->runtime);
    const auto r = run_realtime(*policy, rto);
    std::string histogram;
    for (size_t d = 0; d < r.delay_histogram.size(); ++d)
      if (r.delay_histogram[d]) histogram += " d=" + std::to_string(d) + ":" + std::to_string(r.delay_histogram[d]);
    std::printf("%s %s at %.0f Hz, latency %.0f ms: solved %d/%d; %lld ticks, %lld underruns; %lld chunks, measured delays%s\n"
                "inference %.2f ms mean, %.2f max; tick lateness %.3f ms mean, %.3f p99, %.3f max; %.1f s\n",
                rto.task.c_str(), name_of(rto.method).c_str(), rto.hz, rto.latency_ms, r.successes, r.episodes,
                static_cast<long long>(r.ticks), static_cast<long long>(r.underruns), static_cast<long long>(r.chunks),
                histogram.c_str(), r.inference_ms_mean, r.inference_ms_max, r.late_ms_mean, r.late_ms_p99, r.late_ms_max,
                r.wall_seconds);
    if (!a->json.empty()) {
      auto row = realtime_result_row(a->ckpt, rto, r);
      row["runtime"] = std::dynamic_pointer_cast<MixerVelocity>(policy) ? "fast" : "torch";
      MetricsLog(a->json).write(row);
    }
    return 0;
  });
}

}  // namespace

void add_policy_commands(CLI::App& app, Commands& commands) {
  auto* policy = app.add_subcommand("policy", "flow-matching action-chunk policies");
  policy->require_subcommand(1);
  add_train(*policy, commands);
  add_eval(*policy, commands);
  add_plot(*policy, commands);
  add_run(*policy, commands);
}

}  // namespace engram::cli

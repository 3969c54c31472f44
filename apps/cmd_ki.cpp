// Knowledge insulation on TableWorld-2D: stage 0 (backbone pre-training) and the recipes of KI spec
// §8.4. Every setting is a flag, a --set key=value or a key of a --config file (ConfigFlags).
#include <cstdio>
#include <memory>

#include "commands.h"
#include "config_flags.h"
#include "engram/core/error.h"
#include "engram/core/atomic_file.h"
#include "engram/core/metrics.h"
#include "engram/ki/backbone_cka.h"
#include "engram/ki/flow_steps_sweep.h"
#include "engram/ki/ki_latency.h"
#include "engram/ki/ki_report.h"
#include "engram/ki/ki_training.h"

namespace engram::cli {

namespace {

void print_summary(const TrainSummary& s, const std::string& out) {
  if (s.already_finished) {
    std::printf("%s: already trained to step %lld; nothing to do\n", out.c_str(), static_cast<long long>(s.steps));
    return;
  }
  std::printf("%s: %lld steps in %.0f s (%.1f ms per step), train loss %.4f, held-out %.4f; checkpoint %s\n", out.c_str(),
              static_cast<long long>(s.steps), s.seconds, s.step_ms, s.train_loss, s.val_loss, s.checkpoint.c_str());
}

template <class T>
struct RunArgs {
  std::unique_ptr<ConfigFlags<T>> settings;
  ki::KiRunOptions run;
  std::string resume;
  bool quiet = false;
};

template <class T>
void add_run_flags(CLI::App* cmd, RunArgs<T>& a) {
  auto* out = cmd->add_option("--out", a.run.out, "run directory");
  auto* resume = cmd->add_option("--resume", a.resume, "continue the run in this directory");
  out->excludes(resume);
  cmd->add_option("--stop-after", a.run.stop_after, "stop (with a checkpoint) after this step");
  cmd->add_flag("--quiet", a.quiet, "no progress bar");
  a.settings = std::make_unique<ConfigFlags<T>>(cmd);
}

template <class T>
ki::KiRunOptions run_options(const RunArgs<T>& a) {
  ki::KiRunOptions o = a.run;
  if (!a.resume.empty()) o.out = a.resume, o.resume = true;
  o.verbose = !a.quiet;
  if (o.out.empty()) throw Error("give --out DIR for a new run or --resume DIR");
  return o;
}

}  // namespace

void add_ki_commands(CLI::App& app, Commands& commands) {
  auto* ki = app.add_subcommand("ki", "knowledge insulation on TableWorld-2D: backbone pre-training and the recipes R1–R10");
  ki->require_subcommand(1);

  auto pre = std::make_shared<RunArgs<ki::PretrainConfig>>();
  auto* pretrain = ki->add_subcommand("pretrain", "stage 0: the backbone as a language model on TableWorld's corpus");
  add_run_flags(pretrain, *pre);
  commands.on(pretrain, [pre] {
    const auto o = run_options(*pre);
    print_summary(ki::pretrain_backbone(ki::settings_for_run<ki::PretrainConfig>(pre->settings->given(), o), o), o.out);
    return 0;
  });

  auto rec = std::make_shared<RunArgs<ki::KiTrainConfig>>();
  auto* train = ki->add_subcommand("train", "stage 1: one recipe from the pre-trained backbone on TableWorld demonstrations");
  add_run_flags(train, *rec);
  commands.on(train, [rec] {
    const auto o = run_options(*rec);
    print_summary(ki::train_recipe(ki::settings_for_run<ki::KiTrainConfig>(rec->settings->given(), o), o), o.out);
    return 0;
  });

  struct ReportArgs {
    std::string runs = "runs/ki", figures, json;
  };
  auto rep = std::make_shared<ReportArgs>();
  auto* report = ki->add_subcommand("report", "the dashboard (KI spec §8.7) from a folder of ki train runs");
  report->add_option("runs", rep->runs, "folder of run folders (default runs/ki)");
  report->add_option("--figures", rep->figures, "write the curves as PNG files into this folder");
  report->add_option("--json", rep->json, "write the numbers to this JSON file");
  commands.on(report, [rep] {
    const auto r = ki::ki_report(rep->runs, rep->figures);
    if (!rep->json.empty()) write_text_atomically(rep->json, r.dump(2) + "\n");
    return 0;
  });

  struct LatencyArgs {
    std::vector<std::string> sizes{"S", "M", "L"};
    int steps = 10, calls = 200, warmup = 20;
    std::vector<int64_t> fast_tokens{17, 30};
    std::string json;
  };
  auto lat = std::make_shared<LatencyArgs>();
  auto* latency = ki->add_subcommand("latency", "experiment (c): chunk latency at batch 1 of KI, KI without cache, Transfusion-like and AR FAST");
  latency->add_option("--sizes", lat->sizes, "model sizes: S (128/64 × 4), M (256/128 × 6), L (512/128 × 8, 64 prefix tokens)");
  latency->add_option("--steps", lat->steps, "flow steps N")->check(CLI::Range(1, 1000));
  latency->add_option("--calls", lat->calls, "timed chunks per measurement")->check(CLI::Range(1, 100000));
  latency->add_option("--warmup", lat->warmup, "untimed chunks first")->check(CLI::Range(0, 100000));
  latency->add_option("--fast-tokens", lat->fast_tokens, "AR FAST token counts to time (mean tokens per chunk + 2, and 30)");
  latency->add_option("--json", lat->json, "append one JSON line per measurement to this file");
  commands.on(latency, [lat] {
    std::vector<ki::LatencySize> sizes;
    for (const auto& want : lat->sizes) {
      bool found = false;
      for (const auto& s : ki::latency_sizes())
        if (s.name == want) sizes.push_back(s), found = true;
      if (!found) throw Error("ki latency: --sizes takes S, M and L, not '" + want + "'");
    }
    const auto rows = ki::measure_latency(sizes, lat->steps, lat->fast_tokens, lat->calls, lat->warmup);
    std::printf("%-4s %-12s %6s %11s %11s %10s\n", "size", "method", "N/T", "median ms", "p90 ms", "MMAC");
    for (const auto& r : rows) {
      std::printf("%-4s %-12s %6lld %11.3f %11.3f %10.2f\n", r.size.c_str(), r.method.c_str(), static_cast<long long>(r.steps),
                  r.median_ms, r.p90_ms, r.mmacs);
      if (!lat->json.empty())
        MetricsLog(lat->json).write({{"size", r.size}, {"method", r.method}, {"steps", r.steps}, {"median_ms", r.median_ms},
                                     {"p90_ms", r.p90_ms}, {"mmacs", r.mmacs}, {"calls", lat->calls}});
    }
    return 0;
  });

  struct StepsArgs {
    std::string ckpt, json;
    std::vector<int64_t> steps{1, 2, 3, 5, 10};
    int64_t episodes = 0;
  };
  auto sw = std::make_shared<StepsArgs>();
  auto* sweep = ki->add_subcommand("flow-steps", "experiment (c): a trained recipe's success against the number of flow steps N, with its chunk latency");
  sweep->add_option("--ckpt", sw->ckpt, "checkpoint of an engram ki train run (its EMA weights are evaluated)")->required();
  sweep->add_option("--steps", sw->steps, "values of N (default 1 2 3 5 10)");
  sweep->add_option("--episodes", sw->episodes, "episodes per split (default: the run's eval_episodes)")->check(CLI::Range(1, 100000));
  sweep->add_option("--json", sw->json, "append one JSON line per N to this file");
  commands.on(sweep, [sw] {
    const auto rows = ki::success_vs_flow_steps(sw->ckpt, sw->steps, sw->episodes);
    std::printf("%4s  %-26s  %-26s  %9s\n", "N", "success direct/known/novel", "follow direct/known/novel", "chunk ms");
    for (const auto& r : rows) {
      auto three = [&](const char* what) {
        char b[64];
        std::snprintf(b, sizeof b, "%.2f / %.2f / %.2f", r.rates.value(std::string(what) + "_direct", 0.0),
                      r.rates.value(std::string(what) + "_known", 0.0), r.rates.value(std::string(what) + "_novel", 0.0));
        return std::string(b);
      };
      std::printf("%4lld  %-26s  %-26s  %9.2f\n", static_cast<long long>(r.steps), three("success").c_str(),
                  three("follow").c_str(), r.chunk_ms);
      if (!sw->json.empty()) {
        auto row = r.rates;
        row.update({{"checkpoint", sw->ckpt}, {"flow_steps", r.steps}, {"episodes", r.episodes}, {"chunk_ms", r.chunk_ms}});
        MetricsLog(sw->json).write(row);
      }
    }
    return 0;
  });

  struct CkaArgs {
    std::vector<std::string> runs;
    int64_t observations = 512;
    std::string json, backbone;
  };
  auto ck = std::make_shared<CkaArgs>();
  auto* cka = ki->add_subcommand("cka", "experiment (b)'s diagnostic: linear CKA between each run's backbone features and stage 0's");
  cka->add_option("runs", ck->runs, "run directories of engram ki train")->required();
  cka->add_option("--observations", ck->observations, "fixed TableWorld scenes to compare on")->check(CLI::Range(2, 100000));
  cka->add_option("--json", ck->json, "append one JSON line per run to this file");
  cka->add_option("--backbone", ck->backbone, "the stage-0 checkpoint (default: the path in each run's config, relative to where it was trained)");
  commands.on(cka, [ck] {
    // every run first, so that a bad one leaves the JSON file as it was
    std::vector<double> values;
    for (const auto& run : ck->runs)
      values.push_back(ki::backbone_cka(run + "/checkpoint.safetensors", ck->observations, ck->backbone));
    for (size_t i = 0; i < values.size(); ++i) {
      std::printf("%-40s CKA %.4f\n", ck->runs[i].c_str(), values[i]);
      if (!ck->json.empty())
        MetricsLog(ck->json).write({{"run", ck->runs[i]}, {"cka", values[i]}, {"observations", ck->observations}});
    }
    return 0;
  });
}

}  // namespace engram::cli

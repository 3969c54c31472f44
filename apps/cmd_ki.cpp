// Knowledge insulation on TableWorld-2D: stage 0 (backbone pre-training) and the recipes of KI spec
// §8.4. Every setting is a flag, a --set key=value or a key of a --config file (ConfigFlags).
#include <cstdio>
#include <memory>

#include "commands.h"
#include "config_flags.h"
#include "engram/core/error.h"
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
  auto* ki = app.add_subcommand("ki", "knowledge insulation on TableWorld-2D: backbone pre-training and the recipes R1–R9");
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
}

}  // namespace engram::cli

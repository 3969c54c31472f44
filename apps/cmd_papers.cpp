// The papers' experiment drivers with no training data: moons (Memory Mosaics E2), capacity (ATLAS
// E1) and the quickstart. Moons and capacity take their settings as flags or --config FILE, the
// same fields either way (their results.json records them under "options").
#include <memory>

#include "cli_checks.h"
#include "commands.h"
#include "config_flags.h"
#include "engram/core/json.h"
#include "engram/experiments/quickstart.h"
#include "engram/experiments/capacity_experiment.h"
#include "engram/experiments/three_moons_experiment.h"

namespace engram::cli {

void add_paper_commands(CLI::App& app, Commands& commands) {
  struct MoonsArgs {
    std::string out = ThreeMoonsOptions().out;
    bool replot = false;
    std::unique_ptr<ConfigFlags<ThreeMoonsOptions>> settings;
  };
  auto ma = std::make_shared<MoonsArgs>();
  auto* moons = app.add_subcommand("moons", "three moons: 1 vs 3 heads, predictive disentanglement (Memory Mosaics E2)");
  moons->add_option("--out", ma->out, "output folder (results.json, plots, weights)");
  moons->add_flag("--replot", ma->replot, "only redraw the plots from <out>/results.json");
  ma->settings = std::make_unique<ConfigFlags<ThreeMoonsOptions>>(moons);
  commands.on(moons, [ma] {
    if (ma->replot) {
      plot_three_moons(read_json_file(ma->out + "/results.json", "three-moons results"), ma->out);
      return 0;
    }
    ThreeMoonsOptions o = ma->settings->resolve();
    o.out = ma->out;
    run_three_moons(o);
    return 0;
  });

  struct CapacityArgs {
    std::string out = CapacityOptions().out;
    std::unique_ptr<ConfigFlags<CapacityOptions>> settings;
  };
  auto ca = std::make_shared<CapacityArgs>();
  auto* capacity = app.add_subcommand("capacity", "ATLAS E1: key-value pairs a memory stores, by feature-map degree, Omega window and memory depth");
  capacity->add_option("--out", ca->out, "output folder (results.json, plots)");
  ca->settings = std::make_unique<ConfigFlags<CapacityOptions>>(capacity);
  commands.on(capacity, [ca] {
    CapacityOptions o = ca->settings->resolve();
    o.out = ca->out;
    run_capacity(o);
    return 0;
  });

  auto quick_options = std::make_shared<QuickstartOptions>();
  auto& qo = *quick_options;
  auto* quick = app.add_subcommand("quickstart", "the main job: a few minutes, no data needed; ends with a table and plots");
  quick->add_option("--out", qo.out, "output folder");
  quick->add_option("--steps", qo.steps, "language-model training steps")->check(between(1, 1000000));
  quick->add_option("--induction-steps", qo.induction_steps, "training steps per model for in-context recall")
      ->check(between(1, 1000000));
  quick->add_option("--demo-episodes", qo.demo_episodes, "slalom expert demonstrations for the flow policy")
      ->check(between(2, 100000));
  quick->add_option("--policy-steps", qo.policy_steps, "flow-policy training steps")->check(between(1, 1000000));
  quick->add_option("--policy-episodes", qo.policy_episodes, "episodes per naive/RTC cell")->check(between(1, 100000));
  quick->add_option("--ki-episodes", qo.ki_episodes, "TableWorld demonstrations for knowledge insulation")->check(between(1, 100000));
  quick->add_option("--ki-pretrain-steps", qo.ki_pretrain_steps, "backbone pre-training steps")->check(between(1, 1000000));
  quick->add_option("--ki-steps", qo.ki_steps, "training steps of the KI and the π0-style policy")->check(between(1, 1000000));
  commands.on(quick, [quick_options] { return run_quickstart(*quick_options); });
}

}  // namespace engram::cli

// The papers' experiment drivers that need no config file: moons (Memory Mosaics E2), capacity
// (ATLAS E1) and the quickstart.
#include <memory>

#include "cli_checks.h"
#include "commands.h"
#include "engram/core/json.h"
#include "engram/experiments/quickstart.h"
#include "engram/experiments/capacity_experiment.h"
#include "engram/experiments/three_moons_experiment.h"

namespace engram::cli {

void add_paper_commands(CLI::App& app, Commands& commands) {
  auto moons_options = std::make_shared<ThreeMoonsOptions>();
  auto replot = std::make_shared<bool>(false);
  auto* moons = app.add_subcommand("moons", "three moons: 1 vs 3 heads, predictive disentanglement (Memory Mosaics E2)");
  auto& mo = *moons_options;
  moons->add_option("--out", mo.out, "output folder (results.json, plots, weights)");
  moons->add_option("--heads", mo.heads, "head counts to train (each divides 3)")->delimiter(',');
  moons->add_option("--steps", mo.steps, "training iterations")->check(between(1, 1 << 24));
  moons->add_option("--batch", mo.batch, "windows per iteration")->check(between(1, 1 << 16));
  moons->add_option("--block", mo.block, "window length in steps")->check(between(30, 4000));
  moons->add_option("--eval-sequences", mo.eval_sequences, "windows per evaluation split")->check(between(1, 1 << 16));
  moons->add_option("--eval-every", mo.eval_every, "spacing of the context lengths evaluated")->check(between(1, 1000));
  moons->add_option("--seed", mo.seed, "random seed");
  moons->add_flag("--replot", *replot, "only redraw the plots from <out>/results.json");
  commands.on(moons, [moons_options, replot] {
    if (*replot) plot_three_moons(read_json_file(moons_options->out + "/results.json", "three-moons results"), moons_options->out);
    else run_three_moons(*moons_options);
    return 0;
  });

  auto capacity_options = std::make_shared<CapacityOptions>();
  auto& co = *capacity_options;
  auto* capacity = app.add_subcommand("capacity", "ATLAS E1: key-value pairs a memory stores, by feature-map degree, Omega window and memory depth");
  capacity->add_option("--out", co.out, "output folder (results.json, plots)");
  capacity->add_option("--key-dim", co.key_dim, "key dimension d_k")->check(between(2, 16));
  capacity->add_option("--trials", co.trials, "independent memories averaged")->check(between(1, 1024));
  capacity->add_option("--depth-steps", co.depth_steps, "Adam steps per fit of the depth comparison (0 skips it)")->check(between(0, 1000000));
  capacity->add_option("--fit-steps", co.fit_steps, "full-batch steps per fit of the optimiser comparison (0 skips it)")->check(between(0, 1000000));
  capacity->add_option("--seed", co.seed, "random seed");
  commands.on(capacity, [capacity_options] {
    run_capacity(*capacity_options);
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
  commands.on(quick, [quick_options] { return run_quickstart(*quick_options); });
}

}  // namespace engram::cli

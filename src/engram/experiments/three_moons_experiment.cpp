#include "engram/experiments/three_moons_experiment.h"

#include <cstdio>
#include <filesystem>
#include <random>

#include <torch/torch.h>

#include "engram/core/atomic_file.h"
#include "engram/core/error.h"
#include "engram/core/metrics.h"
#include "engram/core/plot.h"
#include "engram/core/safetensors.h"
#include "engram/core/seed.h"
#include "engram/data/shards.h"
#include "engram/seq/complex_memory.h"
#include "engram/tasks/three_moons.h"
#include "engram/experiments/bench.h"
#include "engram/train/trainer.h"

namespace engram {
namespace {

std::vector<double> to_vector(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

nlohmann::json matrix_json(const torch::Tensor& m) {
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t i = 0; i < m.size(0); ++i) rows.push_back(to_vector(m[i]));
  return rows;
}

// Mean |generated − true| over `horizon` generated steps, the 6 coordinates and the windows,
// for each context length; plus the teacher-forced one-step error at every position.
nlohmann::json evaluate(ComplexContextMemory& model, const std::vector<MoonPeriods>& systems, const ThreeMoonsOptions& o,
                        uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto windows = moon_batch(systems, o.eval_sequences, o.block, rng);  // [E, block+1, 6]
  std::vector<double> contexts, errors;
  for (int64_t c = 1; c + o.horizon <= o.block; c = (c == 1 && o.eval_every > 1) ? o.eval_every : c + o.eval_every) {
    auto generated = model.generate(windows.narrow(1, 0, c), o.horizon);
    contexts.push_back(static_cast<double>(c));
    errors.push_back((generated - windows.narrow(1, c, o.horizon)).abs().mean().item<double>());
  }
  torch::NoGradGuard no_grad;
  auto predicted = model.forward(windows.narrow(1, 0, o.block));
  auto one_step = (predicted - windows.narrow(1, 1, o.block)).abs().mean(std::vector<int64_t>{0, 2});
  return {{"context", contexts}, {"generation_error", errors}, {"one_step_error", to_vector(one_step)}};
}

double error_at(const nlohmann::json& curve, double c) {
  const auto& xs = curve["context"];
  for (size_t i = 0; i < xs.size(); ++i)
    if (xs[i].get<double>() == c) return curve["generation_error"][i].get<double>();
  return std::nan("");
}

// Dotted vertical markers at the given context lengths, spanning [bottom, top].
void add_markers(PlotSpec& spec, const std::vector<std::pair<double, std::string>>& at, double bottom, double top) {
  for (const auto& [x, label] : at) {
    PlotSeries s{label, {x, x}, {bottom, top}};
    s.style = "k:";
    spec.series.push_back(s);
  }
}

}  // namespace

void plot_three_moons(const nlohmann::json& results, const std::string& out) {
  const MoonPeriods held_out = results.at("held_out_system").get<MoonPeriods>();
  const double L = joint_period(held_out) * kMoonStepsPerUnit;
  for (const char* split : {"held_out", "train"}) {
    const bool held = std::string(split) == "held_out";
    PlotSpec spec{out + "/generation-error-" + (held ? "held-out" : "train") + ".png",
                  held ? "three moons, held-out system (1, 1.5, 2): 25-step generation error"
                       : "three moons, training systems: 25-step generation error",
                  "context length (steps)", "mean |generated − true|"};
    spec.logy = true;  // short-context rollouts can diverge by orders of magnitude
    double top = 0, bottom = 1e30;
    for (const auto& [heads, model] : results["models"].items()) {
      const auto& curve = model[split];
      PlotSeries s{heads + (heads == "1" ? " head" : " heads"), curve["context"].get<std::vector<double>>(),
                   curve["generation_error"].get<std::vector<double>>()};
      for (double y : s.y) top = std::max(top, y), bottom = std::min(bottom, y);
      spec.series.push_back(s);
    }
    if (held)
      add_markers(spec, {{1.0 * kMoonStepsPerUnit, "moon periods (44, 67, 89)"}, {1.5 * kMoonStepsPerUnit, "_nolegend_"},
                         {2.0 * kMoonStepsPerUnit, "_nolegend_"}, {L, "joint period (267)"}}, bottom, top);
    else
      add_markers(spec, {{3.0 * kMoonStepsPerUnit, "longest moon period (133)"}, {6.0 * kMoonStepsPerUnit, "longest joint period (267)"}}, bottom, top);
    plot_lines(spec);
  }
}

nlohmann::json run_three_moons(const ThreeMoonsOptions& o) {
  if (o.block < o.horizon + 2) throw Error("three moons: block " + std::to_string(o.block) + " leaves no room for a " +
                                           std::to_string(o.horizon) + "-step rollout");
  std::filesystem::create_directories(o.out);
  const MoonSystems systems = moon_systems();
  nlohmann::json results = {{"options", write_config(o)},
                            {"held_out_system", systems.held_out},
                            {"train_systems", systems.train},
                            {"models", nlohmann::json::object()}};
  PlotSpec loss_plot{o.out + "/loss.png", "three moons: training loss", "step", "clipped squared error"};
  loss_plot.logy = true;
  std::vector<TableRow> rows;
  for (int64_t H : o.heads) {
    const std::string name = std::to_string(H) + (H == 1 ? " head" : " heads");
    const std::string run = o.out + "/run-" + std::to_string(H) + (H == 1 ? "-head" : "-heads");
    std::filesystem::remove_all(run);  // each `engram moons` trains afresh
    std::filesystem::create_directories(run);
    seed_everything(o.seed);
    auto memory = std::make_shared<ComplexContextMemory>(6, H);
    TrainingJob job;
    for (const auto& p : memory->named_parameters()) job.parameters.emplace_back(p.key(), p.value());
    job.weights = [memory] {
      NamedTensors out;
      for (const auto& p : memory->named_parameters()) out.emplace_back(p.key(), p.value());
      return out;
    };
    job.loss = [memory, &systems, &o](int64_t step, const Shard&) {  // one process: the shard is the batch
      std::mt19937_64 rng(mix_seed(o.seed, static_cast<uint64_t>(step)));
      auto batch = moon_batch(systems.train, o.batch, o.block, rng);
      auto predicted = memory->forward(batch.narrow(1, 0, o.block));
      return TrainingJob::StepLoss{torch::clamp(predicted - batch.narrow(1, 1, o.block), -0.5, 0.5).square().mean(), o.batch};
    };
    job.items = "windows";
    job.loss_name = "clipped squared error";
    job.set_training = [memory](bool on) { memory->train(on); };
    LoopConfig loop;
    loop.steps = o.steps;
    loop.lr = o.lr;
    loop.min_lr = o.final_lr;
    loop.schedule = Schedule::kLinear;
    loop.adam.beta2 = 0.999;
    loop.adam.weight_decay = 0.0;
    loop.grad_clip = 0;  // none
    loop.eval_interval = o.steps;
    loop.log_interval = 1;
    Trainer(job, loop, run, o.verbose, name).run();
    PlotSeries curve;
    curve.label = name;
    for (const auto& row : read_metrics(run + "/metrics.jsonl"))
      if (row.contains("train_loss")) curve.x.push_back(row["step"].get<double>() + 1), curve.y.push_back(row["train_loss"]);
    const double loss_value = curve.y.back();
    loss_plot.series.push_back(curve);
    ComplexContextMemory& model = *memory;
    model.eval();
    save_safetensors(o.out + "/memory-" + std::to_string(H) + "heads.safetensors",
                     {{"W_k", model.W_k()}, {"W_v", model.W_v()}, {"W_o", model.W_o()}}, {{"heads", std::to_string(H)}});

    nlohmann::json m;
    m["final_train_loss"] = loss_value;
    m["train"] = evaluate(model, systems.train, o, mix_seed(o.seed, 0x7a11));
    m["held_out"] = evaluate(model, {systems.held_out}, o, mix_seed(o.seed, 0x401d));
    const auto wk = complex_block_magnitudes(model.W_k());
    m["W_k_blocks"] = matrix_json(wk);
    m["W_v_blocks"] = matrix_json(complex_block_magnitudes(model.W_v()));
    m["W_o_blocks"] = matrix_json(complex_block_magnitudes(model.W_o()));
    m["W_k_permutation_score"] = permutation_score(wk);
    results["models"][std::to_string(H)] = m;
    for (const char* split : {"train", "held_out"}) {
      std::string note;
      for (double c : {20, 80, 110, 140, 200, 260, 290, 400, 700}) {
        char cell[32];
        std::snprintf(cell, sizeof cell, "%s%g: %.3f", note.empty() ? "" : " | ", c, error_at(m[split], c));
        note += cell;
      }
      char perm[32];
      std::snprintf(perm, sizeof perm, "%.3f", m["W_k_permutation_score"].get<double>());
      rows.push_back({std::to_string(H) + (H == 1 ? " head, " : " heads, ") + split, perm, "|W_k| perm.", note});
    }
  }
  write_text_atomically(o.out + "/results.json", results.dump(1) + "\n");
  print_table(rows, {"model, systems", "score", "", "25-step generation error at context length"});

  plot_three_moons(results, o.out);
  plot_lines(loss_plot);
  std::printf("results: %s/results.json; plots: %s/generation-error-held-out.png, generation-error-train.png, loss.png\n",
              o.out.c_str(), o.out.c_str());
  return results;
}

}  // namespace engram

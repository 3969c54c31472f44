#include "engram/experiments/quickstart.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engram/core/atomic_file.h"
#include "engram/core/metrics.h"
#include "engram/core/plot.h"
#include "engram/core/error.h"
#include "engram/core/progress.h"
#include "engram/core/threads.h"
#include "engram/data/corpus.h"
#include "engram/policy/delay_harness.h"
#include "engram/policy/delay_plots.h"
#include "engram/policy/policy_trainer.h"
#include "engram/seq/generate.h"
#include "engram/sim/demo_generation.h"
#include "engram/experiments/bench.h"
#include "engram/experiments/capacity_experiment.h"
#include "engram/ki/ki_training.h"
#include "engram/train/checkpoint.h"
#include "engram/train/experiment.h"

namespace engram {
namespace fs = std::filesystem;

namespace {

// The licence texts of base-files: plain English prose present on every Debian machine.
std::string licence_corpus() {
  const fs::path dir = "/usr/share/common-licenses";
  if (!fs::is_directory(dir)) throw Error("quickstart: " + dir.string() + " not found (is this a Debian system?)");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && !e.is_symlink()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::string text;
  for (const auto& f : files) {
    std::ifstream in(f);
    std::stringstream s;
    s << in.rdbuf();
    text += s.str() + "<|endoftext|>";
  }
  return text;
}

void section(const std::string& title) { std::printf("\n== %s\n", title.c_str()); std::fflush(stdout); }

}  // namespace

int run_quickstart(const QuickstartOptions& o) {
  std::error_code ec;
  fs::create_directories(o.out, ec);
  if (ec) throw Error("quickstart: cannot create " + o.out + ": " + ec.message());

  section("machine");
  const auto blas = detect_blas();
  const auto policy = current_thread_policy();
  const double peak = measure_matmul_gflops(1024, 1.0);
  std::printf("BLAS %s (%s), threads torch %d / BLAS %d, fp32 matmul %.1f GFLOP/s\n", blas.vendor.c_str(),
              blas.library.c_str(), policy.torch_threads, policy.blas_threads, peak);
  if (blas.is_reference()) std::printf("WARNING: reference BLAS is live; run scripts/setup-deps to install OpenBLAS\n");

  section("language model: BPE + transformer on /usr/share/common-licenses");
  const std::string corpus = o.out + "/licences.txt";
  write_text_atomically(corpus, licence_corpus());
  const std::string run = o.out + "/transformer";
  fs::remove_all(run, ec);  // the quickstart owns this folder and starts it afresh
  nlohmann::json config = {
      {"model", {{"type", "transformer"}, {"n_layer", 2}, {"n_head", 4}, {"n_embd", 128}, {"positions", "rotary"}, {"dropout", 0.1}}},
      {"train", {{"steps", o.steps}, {"batch_size", 16}, {"block_size", 128}, {"lr", 3e-3}, {"min_lr", 3e-4},
                 {"warmup", std::min<int64_t>(50, o.steps / 4)}, {"eval_interval", std::max<int64_t>(1, o.steps / 6)},
                 {"eval_batches", 8}, {"log_interval", 5}}},
      {"data", {{"train", corpus}, {"tokenizer", "bpe"}, {"vocab_size", 512}, {"valid_fraction", 0.1}}}};
  const TrainSummary s = run_experiment(config, run, {false, o.verbose});

  auto ckpt = load_checkpoint(s.checkpoint);
  Tokenizer tok = tokenizer_from_spec(ckpt.contents.tokenizer, s.checkpoint);
  SampleOptions so;
  so.max_new_tokens = 60;
  so.temperature = 0.8;
  so.top_k = 40;
  so.seed = 1;
  std::vector<int64_t> prompt;
  for (int id : tok.encode("This License")) prompt.push_back(id);
  std::vector<int> out_ids;
  for (auto id : generate(*ckpt.model, prompt, so)) out_ids.push_back(static_cast<int>(id));
  std::printf("sample (temperature 0.8, top-k 40): \"This License%s\"\n", tok.decode(out_ids).c_str());

  section("in-context recall: a 1-block memory mosaic vs a 1-block transformer (induction task)");
  // Memory Mosaics spec §13.1: random segments copied to random later positions; a 1-block
  // mosaic forms an induction head, a 1-block transformer cannot.
  std::vector<std::pair<std::string, TrainSummary>> recall;
  for (const char* type : {"mosaic", "transformer"}) {
    nlohmann::json model = {{"type", type}, {"n_layer", 1}, {"n_head", 2}, {"n_embd", 64}};
    if (std::string(type) == "mosaic") model.update({{"ffn", "none"}, {"attn_dropout", 0.0}, {"resid_dropout", 0.0}});
    else model.update({{"mlp_ratio", 0}, {"positions", "learned"}});
    const std::string dir = o.out + "/induction-" + type;
    fs::remove_all(dir, ec);
    nlohmann::json cfg = {{"model", model},
                          {"train", {{"steps", o.induction_steps}, {"batch_size", 32}, {"lr", 3e-3}, {"min_lr", 3e-4},
                                     {"warmup", 50}, {"eval_interval", std::max<int64_t>(1, o.induction_steps / 10)},
                                     {"eval_batches", 8}, {"log_interval", 5}, {"seed", 1}}},
                          {"task", {{"name", "induction"}}}};
    recall.emplace_back(dir, run_experiment(cfg, dir, {false, o.verbose}));
  }

  section("test-time memory: pairs a linear memory stores, by feature-map degree and Omega window (ATLAS E1)");
  CapacityOptions capacity;
  capacity.out = o.out + "/capacity";
  capacity.depth_steps = 0;  // the depth and optimiser comparisons take a minute: `engram capacity` runs them
  capacity.fit_steps = 0;
  capacity.brief = true;
  run_capacity(capacity);

  section("real-time chunking: a flow policy on slalom, naive vs RTC under inference delay (RTC §12)");
  // A small policy (≈ 0.1 M parameters) on expert demonstrations; with a delay of d ticks the naive
  // switch to a new chunk breaks the plan in the middle of a manoeuvre, RTC's inpainting keeps it.
  DemoOptions demos;
  demos.task = "slalom";
  demos.episodes = o.demo_episodes;
  demos.out = o.out + "/slalom.h5";
  demos.progress = o.verbose;
  fs::remove(demos.out, ec);
  generate_demos(demos);
  const std::string policy_run = o.out + "/policy";
  fs::remove_all(policy_run, ec);
  nlohmann::json policy_config = {
      {"model", {{"channels", 64}, {"channel_hidden", 128}, {"token_hidden", 16}, {"blocks", 2}}},
      {"train", {{"data", demos.out}, {"steps", o.policy_steps}, {"batch_size", 128}, {"lr", 1e-3},
                 {"warmup", std::min<int64_t>(100, o.policy_steps / 4)}, {"weak_step", o.policy_steps / 4},
                 {"eval_interval", std::max<int64_t>(1, o.policy_steps / 4)}}}};
  train_policy(policy_config, {policy_run, false, o.verbose});
  auto trained = load_policy(policy_run + "/checkpoint.safetensors");
  std::vector<DelayCell> cells;
  for (int d : {0, 2}) {
    for (const ChunkMethod method : {ChunkMethod::kNaive, ChunkMethod::kRtc}) {
      DelayEvalOptions eval;
      eval.task = "slalom";
      eval.method = method;
      eval.delay = d;
      eval.shift = std::max(d, 1);
      eval.episodes = o.policy_episodes;
      const auto r = evaluate_under_delay(*trained.policy, eval);
      cells.push_back({name_of(method), d, eval.shift, r.successes, r.episodes, 1});
      std::printf("slalom %-5s d=%d s=%d: solved %lld/%lld = %.3f (95%% %.3f–%.3f)\n", name_of(method).c_str(), d, eval.shift,
                  static_cast<long long>(r.successes), static_cast<long long>(r.episodes), r.solve_rate(), r.wilson_low,
                  r.wilson_high);
    }
  }
  plot_delay_results(cells, o.out + "/rtc", "slalom (quickstart policy)");

  section("knowledge insulation: does the action expert's training damage the backbone's language?");
  DemoOptions table;
  table.task = "tableworld";
  table.episodes = o.ki_episodes;
  table.out = o.out + "/tableworld.h5";
  table.progress = o.verbose;
  fs::remove(table.out, ec);
  generate_demos(table);
  const std::string ki_dir = o.out + "/ki";
  fs::remove_all(ki_dir, ec);
  ki::PretrainConfig stage0;
  stage0.steps = o.ki_pretrain_steps;
  stage0.warmup = std::min<int64_t>(50, o.ki_pretrain_steps / 4);
  stage0.eval_interval = o.ki_pretrain_steps;
  ki::pretrain_backbone(stage0, {ki_dir + "/stage0", false, o.verbose});
  struct KiCell {
    std::string recipe;
    nlohmann::json last;
  };
  std::vector<KiCell> ki_cells;
  for (const auto recipe : {ki::Recipe::kR5, ki::Recipe::kR1}) {
    ki::KiTrainConfig c;
    c.data = table.out;
    c.backbone = ki_dir + "/stage0/checkpoint.safetensors";
    c.recipe = recipe;
    c.steps = o.ki_steps;
    c.warmup = std::min<int64_t>(50, o.ki_steps / 4);
    c.eval_interval = o.ki_steps;
    c.eval_episodes = 16;
    c.eval_chunks = 256;
    c.holdout_every = 10;
    const std::string run_dir = ki_dir + "/" + name_of(recipe);
    ki::train_recipe(c, {run_dir, false, o.verbose});
    nlohmann::json last;
    for (const auto& m : read_metrics(run_dir + "/metrics.jsonl"))
      if (m.contains("delta_nll")) last = m;
    std::printf("%s: held-out LM NLL %+.3f nats/token from the backbone's, FactAcc %.0f%%, action MSE %.3f\n",
                recipe == ki::Recipe::kR5 ? "KI (R5, stop-gradient + co-training)" : "π0-style (R1, flow into the backbone)",
                last.value("delta_nll", 0.0), 100 * last.value("fact_acc", 0.0), last.value("action_mse", 0.0));
    ki_cells.push_back({name_of(recipe), last});
  }

  section("results");
  const auto desc = ckpt.model->describe();
  const double mfu = s.tokens_per_second * 3 * desc.flops_per_token / 1e9 / peak;
  std::vector<TableRow> rows = {
      {"transformer", std::to_string(desc.parameters), "params", desc.summary},
      {"train loss", [&] { char b[32]; std::snprintf(b, sizeof b, "%.3f", s.train_loss); return std::string(b); }(),
       "nats/token", "mean of the last eval interval"},
      {"validation loss", [&] { char b[32]; std::snprintf(b, sizeof b, "%.3f", s.val_loss); return std::string(b); }(),
       "nats/token", "held-out last 10% of the corpus"},
      {"throughput", human_count(s.tokens_per_second), "tokens/s",
       [&] { char b[64]; std::snprintf(b, sizeof b, "MFU %.1f%% of %.0f GFLOP/s", 100 * mfu, peak); return std::string(b); }()},
      {"time", human_duration(s.seconds), "", std::to_string(s.steps) + " steps"},
  };
  for (const auto& [dir, r] : recall) {
    char value[32];
    std::snprintf(value, sizeof value, "%.1f", 100 * r.val_accuracy);
    rows.push_back({"induction, " + fs::path(dir).filename().string().substr(10) + " 1 block", value, "% correct",
                    "copied tokens predicted, after " + std::to_string(r.steps) + " steps"});
  }
  for (const auto& c : cells) {
    char value[32];
    std::snprintf(value, sizeof value, "%.1f", 100.0 * static_cast<double>(c.successes) / static_cast<double>(c.episodes));
    rows.push_back({"slalom, " + std::string(c.method == name_of(ChunkMethod::kRtc) ? "RTC" : "naive") + " d=" + std::to_string(c.delay), value,
                    "% solved", std::to_string(c.episodes) + " episodes, inference delay " + std::to_string(c.delay) + " ticks"});
  }
  for (const auto& c : ki_cells) {
    char value[32];
    std::snprintf(value, sizeof value, "%+.3f", c.last.value("delta_nll", 0.0));
    rows.push_back({"TableWorld " + std::string(c.recipe == "R5" ? "KI (R5)" : "π0-style (R1)"), value, "ΔNLL nats/token",
                    "backbone's held-out LM loss change after " + std::to_string(o.ki_steps) + " policy steps"});
  }
  print_table(rows, {"what", "value", "unit", "note"});
  const std::string recall_plot = o.out + "/induction.png";
  PlotSpec spec;
  spec.out = recall_plot;
  spec.title = "in-context recall, 1 block";
  spec.xlabel = "step";
  spec.ylabel = "accuracy on copied tokens";
  for (const auto& [dir, r] : recall) {
    PlotSeries series;
    series.label = fs::path(dir).filename().string();
    for (const auto& m : read_metrics(dir + "/metrics.jsonl")) {
      if (!m.contains("val_accuracy")) continue;
      series.x.push_back(m["step"].get<double>() + 1);
      series.y.push_back(m["val_accuracy"]);
    }
    spec.series.push_back(series);
  }
  plot_lines(spec);
  std::printf("\nplots:      %s/loss.png\n            %s\n            %s/least-squares.png, streaming.png, needle.png\n"
              "            %s/rtc-delay.png\ncheckpoint: %s\nmetrics:    %s/metrics.jsonl\npolicy:     %s/checkpoint.safetensors"
              " (engram sim play --policy …, engram policy run --ckpt …)\n",
              run.c_str(), recall_plot.c_str(), capacity.out.c_str(), o.out.c_str(), s.checkpoint.c_str(), run.c_str(),
              policy_run.c_str());
  return 0;
}

}  // namespace engram

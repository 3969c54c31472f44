// engram — the command-line tool. It only parses arguments and calls the library.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include "cli_checks.h"
#include "engram/core/config.h"
#include "engram/core/error.h"
#include "engram/core/memory.h"
#include "engram/core/metrics.h"
#include "engram/core/text_file.h"
#include "engram/core/threads.h"
#include "engram/data/bpe_trainer.h"
#include "engram/data/corpus.h"
#include "engram/policy/delay_harness.h"
#include "engram/policy/delay_plots.h"
#include "engram/policy/play_policy.h"
#include "engram/policy/policy_trainer.h"
#include "engram/policy/realtime_runner.h"
#include "engram/policy/torchscript_policy.h"
#include "engram/quickstart.h"
#include "engram/seq/generate.h"
#include "engram/seq/mosaic_import.h"
#include "engram/sim/demo_file.h"
#include "engram/sim/demo_generation.h"
#include "engram/sim/expert_report.h"
#include "engram/sim/play.h"
#include "engram/sim/sim_bench.h"
#include "engram/sim/sim_task.h"
#include "engram/train/bench.h"
#include "engram/train/checkpoint.h"
#include "engram/train/capacity_experiment.h"
#include "engram/train/compare.h"
#include "engram/train/experiment.h"
#include "engram/train/three_moons_experiment.h"

using namespace engram;

namespace {

std::string read_input(const std::string& path) {
  if (path.empty() || path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  return read_text_file(path, "input file");
}

// Whitespace-separated integer ids, one sequence per line; errors name the line and the token.
std::vector<std::vector<int64_t>> parse_id_lines(const std::string& text, const std::string& source) {
  std::vector<std::vector<int64_t>> lines;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::istringstream words(line);
    std::vector<int64_t> ids;
    std::string w;
    while (words >> w) {
      std::size_t used = 0;
      long long v = 0;
      try {
        v = std::stoll(w, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != w.size() || v < 0)
        throw Error(source + ":" + std::to_string(lineno) + ": '" + w + "' is not a token id (non-negative integer)");
      ids.push_back(v);
    }
    if (!ids.empty()) lines.push_back(std::move(ids));
  }
  return lines;
}

// "gpt2", an engram tokenizer .json, or a checkpoint carrying its tokenizer.
Tokenizer open_tokenizer(const std::string& spec) {
  if (spec == "gpt2") return load_gpt2_tokenizer();
  if (spec.size() > 12 && spec.substr(spec.size() - 12) == ".safetensors") {
    auto ckpt = load_checkpoint(spec);
    return tokenizer_from_spec(ckpt.contents.tokenizer, "checkpoint " + spec);
  }
  return Tokenizer::load(spec);
}

void cmd_info() {
  const auto policy = current_thread_policy();
  const auto blas = detect_blas();
  std::printf("engram       %s\n", ENGRAM_VERSION);
  std::printf("LibTorch     %s (CUDA %s)\n", TORCH_VERSION, torch::cuda::is_available() ? "available" : "not available");
  std::printf("BLAS         %s: %s\n", blas.vendor.c_str(), blas.library.empty() ? "(not found in process maps)" : blas.library.c_str());
  if (!blas.detail.empty()) std::printf("             %s\n", blas.detail.c_str());
  std::printf("threads      LibTorch intra-op %d, BLAS %d, cores %u, OMP_WAIT_POLICY %s\n"
              "             (set ENGRAM_TORCH_THREADS / ENGRAM_BLAS_THREADS to change)\n",
              policy.torch_threads, policy.blas_threads, std::thread::hardware_concurrency(), blas.omp_wait_policy.c_str());
  const double g = measure_matmul_gflops(1024, 1.5);
  std::printf("matmul       %.1f GFLOP/s (fp32, 1024×1024 × 1024×1024, best of repeats)\n", g);
  if (blas.is_reference() || g < 30)
    std::printf("\n*** WARNING: %s ***\n*** Matrix products are ~30x slower than they should be. Run scripts/setup-deps, which installs\n"
                "*** libopenblas0-pthread and selects it with update-alternatives. ***\n",
                blas.is_reference() ? "the reference (netlib) BLAS is live" : "the matrix-multiply rate is very low");
}

void cmd_sim_expert(const std::string& task, int episodes, int style, int workers, const std::string& json_path) {
  const auto reports = evaluate_expert(task, episodes, style, workers, true);
  std::printf("%-16s %-26s %9s %17s %8s %9s\n", "task", "style", "success", "95% interval", "length", "ms/step");
  for (const auto& r : reports) {
    std::printf("%-16s %-26s %4d/%-4d %7.3f–%-7.3f %8.1f %9.2f\n", r.task.c_str(), r.style.c_str(), r.successes,
                r.episodes, r.wilson_low, r.wilson_high, r.mean_length, r.ms_per_step);
    if (!json_path.empty()) {
      MetricsLog(json_path).write(nlohmann::json{{"task", r.task}, {"style", r.style}, {"style_index", r.index}, {"episodes", r.episodes},
                            {"successes", r.successes}, {"success_rate", r.success_rate()},
                            {"wilson_low", r.wilson_low}, {"wilson_high", r.wilson_high},
                            {"mean_length", r.mean_length}, {"ms_per_step", r.ms_per_step}});
    }
  }
}

void cmd_sim_inspect(const std::string& path) {
  const auto data = read_demos(path);
  const auto styles = data.env_args.value("styles", nlohmann::json::array());
  int64_t transitions = 0, successes = 0;
  std::map<int, std::pair<int64_t, int64_t>> per_style;
  for (const auto& ep : data.episodes) {
    transitions += ep.length();
    successes += ep.success;
    per_style[ep.style].first++;
    per_style[ep.style].second += ep.success;
  }
  const double n = static_cast<double>(std::max<size_t>(1, data.episodes.size()));
  std::printf("%s: task %s, obs %d-D, action %d-D, %zu episodes, %lld transitions (mean length %.1f), success %.3f\n",
              path.c_str(), data.env_args.value("env_name", std::string("?")).c_str(), data.env_args["obs_dim"].get<int>(),
              data.env_args["action_dim"].get<int>(), data.episodes.size(), static_cast<long long>(transitions),
              static_cast<double>(transitions) / n, static_cast<double>(successes) / n);
  for (const auto& [s, counts] : per_style)
    std::printf("  style %d %-26s %5lld episodes, success %.3f\n", s,
                s < static_cast<int>(styles.size()) ? styles[static_cast<size_t>(s)].get<std::string>().c_str() : "?",
                static_cast<long long>(counts.first), static_cast<double>(counts.second) / static_cast<double>(counts.first));
}

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
  ensure_passive_openmp(argv);
  keep_freed_memory();
  CLI::App app{"engram: associative-memory sequence models and real-time flow policies"};
  app.require_subcommand(1);
  app.set_version_flag("--version", ENGRAM_VERSION);

  auto* info = app.add_subcommand("info", "versions, the BLAS in use, thread policy and the measured matmul rate");

  auto* train = app.add_subcommand("train", "train a model from a JSON config into a run directory");
  std::string config_path, out_dir, resume_dir;
  std::vector<std::string> overrides;
  bool quiet = false;
  train->add_option("--config", config_path, "experiment config (JSON: model, train, data)");
  train->add_option("--set", overrides, "override a config key, e.g. --set model.n_layer=4 (repeatable)");
  train->add_option("--out", out_dir, "run directory (default runs/<model type>)");
  train->add_option("--resume", resume_dir, "continue the run in this directory from its checkpoint");
  train->add_flag("--quiet", quiet, "no progress bar");
  int64_t stop_after = -1;
  train->add_option("--stop-after", stop_after, "stop with a checkpoint after this step (continue later with --resume)")
      ->check(cli::positive);

  auto* eval = app.add_subcommand("eval", "mean next-token cross-entropy of a checkpoint");
  std::string ckpt_path, tokens_path, text_path;
  eval->add_option("--ckpt", ckpt_path, "checkpoint (.safetensors)")->required();
  auto* tok_opt = eval->add_option("--tokens", tokens_path, "token ids: one sequence per line, ids separated by spaces");
  auto* text_opt = eval->add_option("--text", text_path, "text file, encoded with the checkpoint's tokenizer, scored line by line");
  tok_opt->excludes(text_opt);

  auto* positions = app.add_subcommand("position-loss", "loss against position in the context, for one or more checkpoints");
  std::vector<std::string> pos_ckpts;
  std::string pos_text, pos_plot;
  int64_t pos_window = 128, pos_windows = 64;
  positions->add_option("--ckpt", pos_ckpts, "checkpoint(s) (.safetensors); repeat to compare")->required();
  positions->add_option("--text", pos_text, "text file, encoded with each checkpoint's tokenizer")->required();
  positions->add_option("--window", pos_window, "tokens of context per window")->check(cli::between(1, 1 << 20));
  positions->add_option("--windows", pos_windows, "number of windows averaged")->check(cli::between(1, 1 << 20));
  positions->add_option("--plot", pos_plot, "PNG file for the curves");

  auto* sample = app.add_subcommand("sample", "generate text from a checkpoint");
  std::string prompt = "\n";
  SampleOptions so;
  sample->add_option("--ckpt", ckpt_path, "checkpoint (.safetensors)")->required();
  sample->add_option("--prompt", prompt, "text to continue");
  sample->add_option("--tokens", so.max_new_tokens, "number of tokens to generate")->check(cli::between(1, 1 << 20));
  sample->add_option("--temperature", so.temperature, "0 = greedy")->check(cli::between(0.0, 100.0));
  sample->add_option("--top-k", so.top_k, "sample among the k most likely tokens (0 = all)")->check(cli::between(0, 1 << 30));
  sample->add_option("--seed", so.seed, "random seed");
  bool no_cache = false;
  sample->add_flag("--no-cache", no_cache, "recompute the whole prefix for every token (slow; for comparison)");

  auto* import = app.add_subcommand("import", "a nanoMosaics MemoryMosaic saved by torch.save -> an engram checkpoint");
  std::string import_in, import_out, import_tokenizer;
  import->add_option("file", import_in, "state dict (torch.save(model.state_dict())) or nanoMosaics ckpt.pt")->required();
  import->add_option("--out", import_out, "checkpoint to write (.safetensors)")->required();
  import->add_option("--tokenizer", import_tokenizer, "tokenizer to store with it: gpt2 or an engram tokenizer .json");

  auto* moons = app.add_subcommand("moons", "three moons: 1 vs 3 heads, predictive disentanglement (Memory Mosaics E2)");
  ThreeMoonsOptions mo;
  moons->add_option("--out", mo.out, "output folder (results.json, plots, weights)");
  moons->add_option("--heads", mo.heads, "head counts to train (each divides 3)")->delimiter(',');
  moons->add_option("--steps", mo.steps, "training iterations")->check(cli::between(1, 1 << 24));
  moons->add_option("--batch", mo.batch, "windows per iteration")->check(cli::between(1, 1 << 16));
  moons->add_option("--block", mo.block, "window length in steps")->check(cli::between(30, 4000));
  moons->add_option("--eval-sequences", mo.eval_sequences, "windows per evaluation split")->check(cli::between(1, 1 << 16));
  moons->add_option("--eval-every", mo.eval_every, "spacing of the context lengths evaluated")->check(cli::between(1, 1000));
  moons->add_option("--seed", mo.seed, "random seed");
  bool moons_replot = false;
  moons->add_flag("--replot", moons_replot, "only redraw the plots from <out>/results.json");

  auto* capacity = app.add_subcommand("capacity", "ATLAS E1: key-value pairs a memory stores, by feature-map degree, Omega window and memory depth");
  CapacityOptions co;
  capacity->add_option("--out", co.out, "output folder (results.json, plots)");
  capacity->add_option("--key-dim", co.key_dim, "key dimension d_k")->check(cli::between(2, 16));
  capacity->add_option("--trials", co.trials, "independent memories averaged")->check(cli::between(1, 1024));
  capacity->add_option("--depth-steps", co.depth_steps, "Adam steps per fit of the depth comparison (0 skips it)")->check(cli::between(0, 1000000));
  capacity->add_option("--fit-steps", co.fit_steps, "full-batch steps per fit of the optimiser comparison (0 skips it)")->check(cli::between(0, 1000000));
  capacity->add_option("--seed", co.seed, "random seed");

  auto* bench = app.add_subcommand("bench", "speed: matmul peak, train tokens/s and MFU, generation ms/token, tokenizer MB/s");
  BenchOptions bo;
  std::vector<std::string> bench_sets;
  std::string bench_json;
  bench->add_flag("--threads", bo.threads, "also compare LibTorch vs BLAS thread policies");
  bench->add_option("--seconds", bo.seconds, "time per measurement")->check(cli::between(0.1, 600.0));
  bench->add_option("--batch", bo.batch_size, "training batch size")->check(cli::between(1, 4096));
  bench->add_option("--block", bo.block_size, "training context length")->check(cli::between(1, 65536));
  bench->add_option("--set", bench_sets, "override the benchmark model, e.g. --set n_layer=8");
  bench->add_option("--json", bench_json, "append the raw numbers as one JSON line to this file");
  std::string bench_config;
  bench->add_option("--config", bench_config, "JSON file {\"model\": {...}, \"batch\": B, \"block\": T} (configs/bench-*.json)");

  auto* compare = app.add_subcommand("compare", "runs side by side: a table of final metrics and a plot of one metric");
  std::vector<std::string> compare_dirs;
  std::string compare_metric = "val_loss", compare_plot, compare_title;
  compare->add_option("runs", compare_dirs, "run directories")->required();
  compare->add_option("--metric", compare_metric, "a metrics.jsonl key: val_loss, val_accuracy, train_loss, …");
  compare->add_option("--plot", compare_plot, "PNG file to draw the metric against the step");
  compare->add_option("--title", compare_title, "plot title");

  auto* quick = app.add_subcommand("quickstart", "the main job: a few minutes, no data needed; ends with a table and plots");
  QuickstartOptions qo;
  quick->add_option("--out", qo.out, "output folder");
  quick->add_option("--steps", qo.steps, "language-model training steps")->check(cli::between(1, 1000000));
  quick->add_option("--induction-steps", qo.induction_steps, "training steps per model for in-context recall")
      ->check(cli::between(1, 1000000));
  quick->add_option("--demo-episodes", qo.demo_episodes, "slalom expert demonstrations for the flow policy")
      ->check(cli::between(2, 100000));
  quick->add_option("--policy-steps", qo.policy_steps, "flow-policy training steps")->check(cli::between(1, 1000000));
  quick->add_option("--policy-episodes", qo.policy_episodes, "episodes per naive/RTC cell")->check(cli::between(1, 100000));

  auto* tokenize = app.add_subcommand("tokenize", "byte-level BPE: encode, decode, train");
  tokenize->require_subcommand(1);
  std::string tokenizer_spec = "gpt2", input_path;
  bool by_line = false;
  auto* encode = tokenize->add_subcommand("encode", "text (file or stdin) -> ids on stdout");
  encode->add_option("--tokenizer", tokenizer_spec, "gpt2, a tokenizer .json, or a checkpoint");
  encode->add_option("input", input_path, "text file (default: stdin)");
  encode->add_flag("--lines", by_line, "encode each line on its own; one line of ids per line (the eval --tokens format)");
  auto* decode = tokenize->add_subcommand("decode", "ids (file or stdin) -> text on stdout");
  decode->add_option("--tokenizer", tokenizer_spec, "gpt2, a tokenizer .json, or a checkpoint");
  decode->add_option("input", input_path, "file of whitespace-separated ids (default: stdin)");
  auto* tok_train = tokenize->add_subcommand("train", "train a byte-level BPE (GPT-2 pre-tokenisation) on a text file");
  int vocab_size = 4096;
  std::string tok_out;
  tok_train->add_option("input", input_path, "training text")->required();
  tok_train->add_option("--vocab-size", vocab_size, "vocabulary size including 256 bytes and <|endoftext|>")->check(cli::between(257, 1 << 20));
  tok_train->add_option("--out", tok_out, "tokenizer file to write (.json)")->required();

  auto* sim = app.add_subcommand("sim", "planar MuJoCo tasks: expert success, demonstrations, watching episodes");
  sim->require_subcommand(1);
  auto* sim_tasks = sim->add_subcommand("tasks", "list the tasks");
  auto* sim_expert = sim->add_subcommand("expert", "success rate of each MPPI expert style under actuation noise");
  std::string sim_task;
  int sim_episodes = 100, sim_style = -1, sim_workers = 2;
  std::string sim_json;
  sim_expert->add_option("--task", sim_task, "task name (engram sim tasks)")->required();
  sim_expert->add_option("--episodes", sim_episodes, "noisy episodes per style")->check(cli::between(1, 1000000));
  sim_expert->add_option("--style", sim_style, "only this style (default: all)")->check(cli::between(0, 64));
  sim_expert->add_option("--workers", sim_workers, "worker threads")->check(cli::between(1, 256));
  sim_expert->add_option("--json", sim_json, "append one JSON line per style to this file");
  auto* sim_demos = sim->add_subcommand("demos", "expert demonstrations → HDF5 (robomimic layout), parallel and resumable");
  DemoOptions dopt;
  sim_demos->add_option("--task", dopt.task, "task name (engram sim tasks)")->required();
  sim_demos->add_option("--episodes", dopt.episodes, "episodes")->check(cli::between(1, 10000000));
  sim_demos->add_option("--workers", dopt.workers, "worker processes")->check(cli::between(1, 256));
  sim_demos->add_option("--seed", dopt.seed, "dataset seed (styles and noise of every episode follow from it)");
  sim_demos->add_option("--out", dopt.out, "dataset file (.h5)")->required();
  auto* sim_bench = sim->add_subcommand("bench", "env steps/s (single, batched on 1 and 2 threads) and the expert's real-time factor");
  std::vector<std::string> sim_bench_tasks = sim_task_names();
  double sim_bench_seconds = 2.0;
  std::string sim_bench_json;
  sim_bench->add_option("--task", sim_bench_tasks, "tasks (default: all)");
  sim_bench->add_option("--seconds", sim_bench_seconds, "time per measurement")->check(cli::between(0.05, 600.0));
  sim_bench->add_option("--json", sim_bench_json, "append one JSON line per task to this file");
  auto* sim_inspect = sim->add_subcommand("inspect", "validate a demonstration dataset and summarise it");
  std::string inspect_path;
  sim_inspect->add_option("dataset", inspect_path, "dataset file (.h5)")->required();
  auto* sim_play = sim->add_subcommand("play", "watch one expert episode: animated GIF and a contact sheet");
  PlayOptions popt;
  bool play_expert_flag = false;
  std::string play_policy_ckpt;
  int play_shift = 1;
  sim_play->add_option("--task", popt.task, "task name (engram sim tasks; with --policy, default: the policy's)");
  auto* expert_opt = sim_play->add_flag("--expert", play_expert_flag, "the MPPI expert acts");
  auto* policy_opt = sim_play->add_option("--policy", play_policy_ckpt, "a policy checkpoint acts (engram policy train)");
  expert_opt->excludes(policy_opt);
  sim_play->add_option("--shift", play_shift, "with --policy: actions executed per chunk")->check(cli::between(1, 1024));
  sim_play->add_option("--style", popt.style, "expert style");
  sim_play->add_option("--episode", popt.episode, "noise stream: episode number of a dataset with --seed");
  sim_play->add_option("--seed", popt.seed, "dataset seed");
  sim_play->add_option("--render", popt.gif, "animated GIF to write");
  sim_play->add_option("--sheet", popt.sheet, "PNG contact sheet of 8 frames to write");
  sim_play->add_option("--size", popt.size, "frame size in pixels");

  auto* policy = app.add_subcommand("policy", "flow-matching action-chunk policies");
  policy->require_subcommand(1);
  auto* policy_train = policy->add_subcommand("train", "flow matching on a demonstration dataset into a run directory");
  std::string policy_config, policy_data, policy_out, policy_resume;
  std::vector<std::string> policy_sets;
  bool policy_quiet = false;
  policy_train->add_option("--data", policy_data, "demonstration dataset (.h5, engram sim demos)");
  policy_train->add_option("--config", policy_config, "JSON {\"model\": {...}, \"train\": {...}}");
  policy_train->add_option("--set", policy_sets, "override a key, e.g. --set train.steps=2000 (repeatable)");
  policy_train->add_option("--out", policy_out, "run directory");
  policy_train->add_option("--resume", policy_resume, "continue the run in this directory from its checkpoint");
  policy_train->add_flag("--quiet", policy_quiet, "no progress bar");
  int64_t policy_stop_after = -1;
  policy_train->add_option("--stop-after", policy_stop_after, "stop with a checkpoint after this step (continue later with --resume)")
      ->check(cli::positive);
  auto* policy_eval = policy->add_subcommand("eval", "solve rate under a simulated inference delay (RTC spec §5)");
  std::string eval_ckpt, eval_json;
  DelayEvalOptions deo;
  std::string eval_script;
  auto* eval_ckpt_opt = policy_eval->add_option("--ckpt", eval_ckpt, "policy checkpoint");
  policy_eval->add_option("--torchscript", eval_script, "a TorchScript velocity network instead (signature: README, needs --task)")
      ->excludes(eval_ckpt_opt);
  policy_eval->add_option("--task", deo.task, "task (default: the one the policy was trained on)");
  std::string eval_weak;
  policy_eval->add_option("--method", deo.method, "naive | rtc | rtc-hard | bid | te | sync");
  policy_eval->add_option("--weak", eval_weak, "BID's weak checkpoint (default: weak.safetensors beside --ckpt)");
  policy_eval->add_option("--bid-samples", deo.bid_samples, "BID: N strong + N weak candidates")->check(cli::between(1, 4096));
  policy_eval->add_option("--bid-contrast", deo.bid_contrast, "BID: K positives and negatives (0: backward coherence only)")
      ->check(cli::between(0, 4096));
  policy_eval->add_option("--te-decay", deo.te_decay, "temporal ensembling: weights exp(−m·i), oldest i = 0 (0: the mean)")
      ->check(cli::between(0.0, 100.0));
  policy_eval->add_option("--delay", deo.delay, "inference delay d in control ticks")->check(cli::between(0, 1024));
  auto* shift_opt = policy_eval->add_option("--shift", deo.shift, "execution horizon s, d ≤ s ≤ H − d (default: max(d, 1))")
                        ->check(cli::between(1, 1024));
  policy_eval->add_option("--episodes", deo.episodes, "episodes")->check(cli::between(1, 10000000));
  policy_eval->add_option("--batch", deo.batch, "episodes per batch")->check(cli::between(1, 100000));
  policy_eval->add_option("--beta", deo.beta, "RTC guidance clip β")->check(cli::between(0.0, 1e6));
  policy_eval->add_option("--seed", deo.seed, "evaluation seed (common random numbers across methods)");
  policy_eval->add_option("--json", eval_json, "append the result as one JSON line to this file");
  auto* policy_plot = policy->add_subcommand("plot", "solve rate vs delay and vs execution horizon, from policy eval --json files");
  std::vector<std::string> plot_results;
  std::string plot_prefix, plot_title = "RTC";
  policy_plot->add_option("--results", plot_results, "result files (one per task; cells all of them have are pooled)")
      ->required();
  policy_plot->add_option("--out", plot_prefix, "writes OUT-delay.png and OUT-horizon.png")->required();
  policy_plot->add_option("--title", plot_title, "plot title");
  auto* policy_run = policy->add_subcommand("run", "drive a task in wall-clock time: a control thread and an inference thread (RTC spec §4)");
  std::string run_ckpt, run_json;
  RealtimeOptions rto;
  policy_run->add_option("--ckpt", run_ckpt, "policy checkpoint")->required();
  policy_run->add_option("--task", rto.task, "task (default: the one the policy was trained on)");
  policy_run->add_option("--method", rto.method, "rtc | rtc-hard | naive");
  policy_run->add_option("--hz", rto.hz, "control rate")->check(cli::between(0.1, 1000.0));
  policy_run->add_option("--latency-ms", rto.latency_ms, "pad every inference to at least this long (d ≈ latency / tick)")
      ->check(cli::between(0.0, 60000.0));
  policy_run->add_option("--min-shift", rto.min_shift, "s_min: actions executed before the next inference starts")->check(cli::between(1, 1024));
  policy_run->add_option("--queue", rto.queue_length, "b: plan for the max of the last b measured delays")->check(cli::between(1, 1024));
  policy_run->add_option("--episodes", rto.episodes, "episodes, one after another")->check(cli::between(1, 100000));
  policy_run->add_option("--seed", rto.seed, "seed of the actuation and policy noise");
  policy_run->add_option("--json", run_json, "append the report as one JSON line to this file");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    return usage_error(app, argc, argv, e.what());
  }

  try {
    apply_thread_policy(default_thread_policy());
    if (*info) {
      cmd_info();
    } else if (*train) {
      RunOptions ro;
      ro.verbose = !quiet;
      ro.resume = !resume_dir.empty();
      ro.stop_after = stop_after;
      if (ro.resume && !out_dir.empty() && out_dir != resume_dir)
        throw Error("--resume and --out name different folders; a resumed run stays in its own folder");
      nlohmann::json cfg = load_config(config_path, overrides);
      if (!ro.resume && config_path.empty() && overrides.empty())
        throw Error("engram train needs --config FILE (see configs/) or --set overrides, or --resume DIR");
      const std::string dir = ro.resume ? resume_dir
                              : !out_dir.empty() ? out_dir
                              : "runs/" + cfg.value("model", nlohmann::json::object()).value("type", std::string("transformer"));
      const auto s = run_experiment(cfg, dir, ro);
      if (s.already_finished)
        std::printf("run %s has already finished (%lld steps; nothing trained: resume with --set train.steps=N, N > %lld, "
                    "to train further): train loss %.4f, validation loss %.4f",
                    dir.c_str(), static_cast<long long>(s.steps), static_cast<long long>(s.steps), s.train_loss, s.val_loss);
      else
        std::printf("trained %lld steps: train loss %.4f, validation loss %.4f", static_cast<long long>(s.steps),
                    s.train_loss, s.val_loss);
      if (std::isfinite(s.val_accuracy)) std::printf(", task accuracy %.4f", s.val_accuracy);
      if (!s.already_finished) std::printf(", %.0f tokens/s", s.tokens_per_second);
      std::printf("\ncheckpoint %s\nplot %s/loss.png\n", s.checkpoint.c_str(), dir.c_str());
      for (const auto& [name, value] : s.task_score.items())
        std::printf("%s %s\n", name.c_str(), value.dump().c_str());
    } else if (*eval) {
      if (tokens_path.empty() && text_path.empty()) throw Error("engram eval needs --tokens FILE or --text FILE");
      auto ckpt = load_checkpoint(ckpt_path);
      std::vector<std::vector<int64_t>> seqs;
      if (!tokens_path.empty()) {
        seqs = parse_id_lines(read_input(tokens_path), tokens_path);
      } else {
        Tokenizer tok = tokenizer_from_spec(ckpt.contents.tokenizer, "checkpoint " + ckpt_path);
        std::istringstream in(read_input(text_path));
        std::string line;
        while (std::getline(in, line)) {
          std::vector<int64_t> ids;
          for (int id : tok.encode(line)) ids.push_back(id);
          if (!ids.empty()) seqs.push_back(ids);
        }
      }
      if (seqs.empty()) throw Error("eval: no sequences in " + (tokens_path.empty() ? text_path : tokens_path));
      SequenceScore total;
      for (size_t i = 0; i < seqs.size(); ++i) {
        try {
          auto s = score_sequence(*ckpt.model, seqs[i]);
          total.total_nats += s.total_nats;
          total.targets += s.targets;
        } catch (const Error& e) {
          throw Error("eval: line " + std::to_string(i + 1) + ": " + e.what());
        }
      }
      if (total.targets == 0) throw Error("eval: every sequence has a single token; nothing to score");
      if (!std::isfinite(total.mean()))
        throw Error("eval: the loss of " + ckpt_path + " is " + std::to_string(total.mean()) +
                    " (non-finite logits: the model overflows on this input)");
      std::printf("%.6f nats/token (perplexity %.3f) over %lld targets in %zu sequences\n", total.mean(),
                  std::exp(total.mean()), static_cast<long long>(total.targets), seqs.size());
    } else if (*positions) {
      compare_position_loss(pos_ckpts, read_input(pos_text), pos_window, pos_windows, pos_plot);
    } else if (*sample) {
      auto ckpt = load_checkpoint(ckpt_path);
      Tokenizer tok = tokenizer_from_spec(ckpt.contents.tokenizer, "checkpoint " + ckpt_path);
      so.use_cache = !no_cache;
      if (auto eot = tok.special_id("<|endoftext|>")) so.stop_token = *eot;
      std::vector<int64_t> ids;
      for (int id : tok.encode(prompt)) ids.push_back(id);
      std::vector<int> out;
      for (auto id : generate(*ckpt.model, ids, so)) out.push_back(static_cast<int>(id));
      std::printf("%s%s\n", prompt.c_str(), tok.decode(out).c_str());
    } else if (*import) {
      auto imported = import_nano_mosaic(import_in);
      CheckpointContents contents;
      if (!import_tokenizer.empty()) {
        Tokenizer tok = open_tokenizer(import_tokenizer);
        if (tok.vocab_size() > imported.config.vocab_size)
          throw Error("tokenizer " + import_tokenizer + " has " + std::to_string(tok.vocab_size()) + " tokens; the model only " +
                      std::to_string(imported.config.vocab_size));
        contents.tokenizer = import_tokenizer == "gpt2" ? "gpt2" : tok.to_json();
      }
      save_checkpoint(import_out, *imported.model, contents);
      std::printf("imported %lld tensors: %s\nwrote %s\n", static_cast<long long>(imported.tensors),
                  imported.model->describe().summary.c_str(), import_out.c_str());
    } else if (*moons) {
      if (moons_replot) plot_three_moons(read_json_file(mo.out + "/results.json"), mo.out);
      else run_three_moons(mo);
    } else if (*capacity) {
      run_capacity(co);
    } else if (*bench) {
      if (!bench_config.empty()) {
        const nlohmann::json file = read_json_file(bench_config);  // ConfigObject keeps a reference
        ConfigObject c(file, "");
        bo.model = c.object("model");
        bo.batch_size = c.integer("batch", bo.batch_size, 1, 4096);
        bo.block_size = c.integer("block", bo.block_size, 1, 65536);
        c.finish();
      }
      for (const auto& s : bench_sets) apply_override(bo.model, s);
      nlohmann::json record;
      auto rows = run_bench(bo, record);
      print_table(rows, {"measurement", "value", "unit", "note"});
      if (!bench_json.empty()) {
        std::ofstream out(bench_json, std::ios::app);
        if (!out) throw Error("cannot append to " + bench_json);
        out << record.dump() << "\n";
      }
    } else if (*compare) {
      compare_runs(compare_dirs, compare_metric, compare_plot, compare_title);
    } else if (*quick) {
      return run_quickstart(qo);
    } else if (*encode) {
      Tokenizer tok = open_tokenizer(tokenizer_spec);
      const std::string text = read_input(input_path);
      auto write_ids = [](const std::vector<int>& ids) {
        std::string line;
        for (size_t i = 0; i < ids.size(); ++i) line += (i ? " " : "") + std::to_string(ids[i]);
        std::printf("%s\n", line.c_str());
      };
      if (by_line) {
        std::istringstream in(text);
        std::string line;
        while (std::getline(in, line)) write_ids(tok.encode(line));
      } else {
        write_ids(tok.encode(text));
      }
    } else if (*decode) {
      Tokenizer tok = open_tokenizer(tokenizer_spec);
      const std::string source = input_path.empty() ? "stdin" : input_path;
      std::vector<int> ids;
      for (const auto& line : parse_id_lines(read_input(input_path), source))
        for (auto id : line) ids.push_back(static_cast<int>(std::min<int64_t>(id, INT32_MAX)));
      const std::string text = tok.decode(ids);
      std::fwrite(text.data(), 1, text.size(), stdout);
    } else if (*policy_train) {
      nlohmann::json config = nlohmann::json::object();
      PolicyRunOptions ro;
      ro.verbose = !policy_quiet;
      ro.stop_after = policy_stop_after;
      if (!policy_resume.empty()) {
        config = read_json_file(policy_resume + "/config.json");
        config.erase("env");
        ro.out = policy_resume;
        ro.resume = true;
      } else {
        if (!policy_config.empty()) config = read_json_file(policy_config);
        if (!policy_data.empty()) config["train"]["data"] = policy_data;
        if (policy_out.empty()) throw Error("policy train: --out DIR is required (or --resume DIR)");
        ro.out = policy_out;
      }
      for (const auto& s : policy_sets) apply_override(config, s);
      const auto summary = train_policy(config, ro);
      if (summary.already_finished) std::printf("run %s has already finished; nothing trained (resume with --set train.steps=N, N > %lld, to train further)\n", ro.out.c_str(), static_cast<long long>(summary.steps));
      std::printf("%s %lld steps: train loss %.4f, held-out loss %.4f; checkpoint %s/checkpoint.safetensors\n",
                  summary.already_finished ? "finished" : "trained", static_cast<long long>(summary.steps), summary.train_loss, summary.val_loss, ro.out.c_str());
    } else if (*policy_eval) {
      if (eval_ckpt.empty() == eval_script.empty()) throw Error("policy eval: give --ckpt CKPT or --torchscript FILE");
      LoadedPolicy loaded;
      std::shared_ptr<FlowPolicy> policy;
      if (!eval_script.empty()) {
        if (deo.task.empty()) throw Error("policy eval: --torchscript needs --task");
        policy = std::make_shared<TorchScriptPolicy>(eval_script);
      } else {
        loaded = load_policy(eval_ckpt);
        if (deo.task.empty()) deo.task = loaded.config["env"]["env_name"].get<std::string>();
        policy = loaded.policy;
      }
      LoadedPolicy weak;
      if (deo.method == "bid" && deo.bid_contrast > 0) {
        if (eval_weak.empty() && eval_ckpt.empty()) throw Error("policy eval: BID with --torchscript needs --weak or --bid-contrast 0");
        if (eval_weak.empty()) {
          eval_weak = std::filesystem::path(eval_ckpt).replace_filename("weak.safetensors").string();
          if (!std::filesystem::exists(eval_weak))
            throw Error("policy eval: BID's forward contrast needs the weak checkpoint " + eval_weak +
                        " (written at train.weak_step); pass --weak CKPT or --bid-contrast 0");
        }
        weak = load_policy(eval_weak);
        deo.weak = weak.policy.get();
      }
      if (shift_opt->count() == 0) deo.shift = std::max(deo.delay, 1);  // as the delay plots choose it
      const auto r = evaluate_under_delay(*policy, deo);
      std::printf("%s %s d=%d s=%d: solved %lld/%lld = %.3f (95%% %.3f–%.3f), %.1f s\n", deo.task.c_str(), deo.method.c_str(),
                  deo.delay, deo.shift, static_cast<long long>(r.successes), static_cast<long long>(r.episodes), r.solve_rate(),
                  r.wilson_low, r.wilson_high, r.seconds);
      if (!eval_json.empty()) {
        nlohmann::json row{{"ckpt", eval_ckpt.empty() ? eval_script : eval_ckpt}, {"task", deo.task}, {"method", deo.method}, {"delay", deo.delay},
                           {"shift", deo.shift}, {"episodes", r.episodes}, {"successes", r.successes},
                           {"solve_rate", r.solve_rate()}, {"wilson_low", r.wilson_low}, {"wilson_high", r.wilson_high},
                           {"seed", deo.seed}, {"seconds", r.seconds}, {"policy_calls", r.policy_calls}};
        if (deo.method == "bid") row.update({{"bid_samples", deo.bid_samples}, {"bid_contrast", deo.bid_contrast}});
        if (deo.method == "te") row["te_decay"] = deo.te_decay;
        MetricsLog(eval_json).write(row);
      }
    } else if (*policy_plot) {
      std::printf("%s", plot_delay_results(pool_delay_results(plot_results), plot_prefix, plot_title).c_str());
    } else if (*policy_run) {
      auto loaded = load_policy(run_ckpt);
      if (rto.task.empty()) rto.task = loaded.config["env"]["env_name"].get<std::string>();
      // One intra-op thread for inference leaves the other core to the control thread and physics.
      apply_thread_policy(ThreadPolicy{1, 1});
      const auto r = run_realtime(*loaded.policy, rto);
      std::string histogram;
      for (size_t d = 0; d < r.delay_histogram.size(); ++d)
        if (r.delay_histogram[d]) histogram += " d=" + std::to_string(d) + ":" + std::to_string(r.delay_histogram[d]);
      std::printf("%s %s at %.0f Hz, latency %.0f ms: solved %d/%d; %lld ticks, %lld underruns; %lld chunks, measured delays%s\n"
                  "inference %.2f ms mean, %.2f max; tick lateness %.3f ms mean, %.3f p99, %.3f max; %.1f s\n",
                  rto.task.c_str(), rto.method.c_str(), rto.hz, rto.latency_ms, r.successes, r.episodes,
                  static_cast<long long>(r.ticks), static_cast<long long>(r.underruns), static_cast<long long>(r.chunks),
                  histogram.c_str(), r.inference_ms_mean, r.inference_ms_max, r.late_ms_mean, r.late_ms_p99, r.late_ms_max,
                  r.wall_seconds);
      if (!run_json.empty()) {
        MetricsLog(run_json).write(nlohmann::json{
            {"ckpt", run_ckpt}, {"task", rto.task}, {"method", rto.method}, {"hz", rto.hz}, {"latency_ms", rto.latency_ms},
            {"min_shift", rto.min_shift}, {"episodes", r.episodes}, {"successes", r.successes}, {"ticks", r.ticks},
            {"underruns", r.underruns}, {"chunks", r.chunks}, {"delay_histogram", r.delay_histogram},
            {"inference_ms_mean", r.inference_ms_mean}, {"inference_ms_max", r.inference_ms_max}, {"late_ms_mean", r.late_ms_mean},
            {"late_ms_p99", r.late_ms_p99}, {"late_ms_max", r.late_ms_max}, {"seed", rto.seed}});
      }
    } else if (*sim_tasks) {
      for (const auto& name : sim_task_names()) std::printf("%-16s %s\n", name.c_str(), make_sim_task(name)->description().c_str());
    } else if (*sim_expert) {
      cmd_sim_expert(sim_task, sim_episodes, sim_style, sim_workers, sim_json);
    } else if (*sim_demos) {
      const auto summary = generate_demos(dopt);
      std::printf("wrote %s: %lld episodes, %lld transitions, expert success %.3f\n", dopt.out.c_str(),
                  static_cast<long long>(summary.episodes), static_cast<long long>(summary.transitions),
                  static_cast<double>(summary.successes) / static_cast<double>(summary.episodes));
      for (size_t s = 0; s < summary.per_style.size(); ++s)
        std::printf("  style %zu: %lld episodes, success %lld\n", s, static_cast<long long>(summary.per_style[s]),
                    static_cast<long long>(summary.per_style_success[s]));
    } else if (*sim_bench) {
      std::printf("%-16s %12s %14s %14s %8s %13s %8s\n", "task", "steps/s (1)", "steps/s (128)", "(128, 2 thr)",
                  "ratio", "expert ms/st", "RT fact");
      for (const auto& task : sim_bench_tasks) {
        const auto r = bench_sim(task, sim_bench_seconds);
        std::printf("%-16s %12.0f %14.0f %14.0f %7.2fx %13.2f %8.2f\n", task.c_str(), r["env_steps_per_s_single"].get<double>(),
                    r["env_steps_per_s_batch128_1thread"].get<double>(), r["env_steps_per_s_batch128_2threads"].get<double>(),
                    r["batch2_over_single"].get<double>(), r["expert_ms_per_step"].get<double>(),
                    r["expert_real_time_factor"].get<double>());
        if (!sim_bench_json.empty()) {
          MetricsLog(sim_bench_json).write(r);
        }
      }
    } else if (*sim_inspect) {
      cmd_sim_inspect(inspect_path);
    } else if (*sim_play) {
      if (!play_expert_flag && play_policy_ckpt.empty()) throw Error("sim play: choose who acts, --expert or --policy CKPT");
      if (play_expert_flag && popt.task.empty()) throw Error("sim play: --task is required with --expert");
      const auto r = play_expert_flag ? play_expert(popt) : play_policy(play_policy_ckpt, popt, play_shift);
      std::printf("%s, %s: %s after %d steps\n", popt.task.empty() ? "policy's task" : popt.task.c_str(),
                  play_expert_flag ? ("expert style " + std::to_string(popt.style) + " (" + r.style + ")").c_str() : r.style.c_str(),
                  r.success ? "success" : "failure", r.steps);
      if (!popt.gif.empty()) std::printf("wrote %s\n", popt.gif.c_str());
      if (!popt.sheet.empty()) std::printf("wrote %s\n", popt.sheet.c_str());
    } else if (*tok_train) {
      auto result = train_bpe_file(input_path, vocab_size, {"<|endoftext|>"});
      to_tokenizer(result).save(tok_out);
      std::printf("trained %zu merges; vocabulary %zu tokens; wrote %s\n", result.merges.size(), result.vocab.size(),
                  tok_out.c_str());
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "engram: error: %s\n", e.what());
    return 1;
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    std::fprintf(stderr, "engram: error (LibTorch): %s\n", msg.substr(0, msg.find('\n')).c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engram: error: %s\n", e.what());
    return 1;
  }
  return 0;
}

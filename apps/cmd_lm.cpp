// Language models: train, eval, position-loss, sample, import, bench, compare.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli_checks.h"
#include "commands.h"
#include "engram/distributed/local_group.h"
#include "engram/core/config.h"
#include "engram/core/error.h"
#include "engram/data/corpus.h"
#include "engram/data/id_text.h"
#include "engram/seq/generate.h"
#include "engram/seq/mosaic_import.h"
#include "engram/experiments/bench.h"
#include "engram/experiments/scaling_bench.h"
#include "engram/train/checkpoint.h"
#include "engram/experiments/compare.h"
#include "engram/train/experiment.h"

namespace engram::cli {

namespace {

void add_train(CLI::App& app, Commands& commands) {
  struct Args {
    std::string config, out, resume;
    std::vector<std::string> sets;
    bool quiet = false;
    int64_t stop_after = -1;
    int nproc = 1;
  };
  auto a = std::make_shared<Args>();
  auto* train = app.add_subcommand("train", "train a model from a JSON config into a run directory");
  train->add_option("--nproc", a->nproc, "train data-parallel in this many local processes (as torchrun --nproc_per_node)")
      ->check(between(1, 1024));
  train->add_option("--config", a->config, "experiment config (JSON: model, train, data)");
  train->add_option("--set", a->sets, "override a config key, e.g. --set model.n_layer=4 (repeatable)");
  train->add_option("--out", a->out, "run directory (default runs/<model type>)");
  train->add_option("--resume", a->resume, "continue the run in this directory from its checkpoint");
  train->add_flag("--quiet", a->quiet, "no progress bar");
  train->add_option("--stop-after", a->stop_after, "stop with a checkpoint after this step (continue later with --resume)")
      ->check(positive);
  commands.on(train, [a, &commands] {
    if (a->nproc > 1) return run_local_group(a->nproc, arguments_without_nproc(commands.argc(), commands.argv()));
    RunOptions ro;
    ro.verbose = !a->quiet;
    ro.resume = !a->resume.empty();
    ro.stop_after = a->stop_after;
    if (ro.resume && !a->out.empty() && a->out != a->resume)
      throw Error("--resume and --out name different folders; a resumed run stays in its own folder");
    nlohmann::json cfg = load_config(a->config, a->sets);
    if (!ro.resume && a->config.empty() && a->sets.empty())
      throw Error("engram train needs --config FILE (see configs/) or --set overrides, or --resume DIR");
    const std::string dir = ro.resume ? a->resume
                            : !a->out.empty() ? a->out
                            : "runs/" + cfg.value("model", nlohmann::json::object()).value("type", std::string("transformer"));
    const auto s = run_experiment(cfg, dir, ro);
    if (s.already_finished)
      std::printf("run %s has already finished (%lld steps; nothing trained: resume with --set train.steps=N, N > %lld, "
                  "to train further): train loss %.4f, validation loss %.4f",
                  dir.c_str(), static_cast<long long>(s.steps), static_cast<long long>(s.steps), s.train_loss, s.val_loss);
    else
      std::printf("trained %lld steps: train loss %.4f, validation loss %.4f", static_cast<long long>(s.steps), s.train_loss,
                  s.val_loss);
    if (std::isfinite(s.val_accuracy)) std::printf(", task accuracy %.4f", s.val_accuracy);
    if (!s.already_finished) std::printf(", %.0f tokens/s", s.tokens_per_second);
    std::printf("\ncheckpoint %s\nplot %s/loss.png\n", s.checkpoint.c_str(), dir.c_str());
    if (s.ranks > 1 && !s.already_finished)
      std::printf("%s\n", data_parallel_report(s).c_str());
    for (const auto& [name, value] : s.task_score.items()) std::printf("%s %s\n", name.c_str(), value.dump().c_str());
    return 0;
  });
}

void add_eval(CLI::App& app, Commands& commands) {
  struct Args {
    std::string ckpt, tokens, text;
  };
  auto a = std::make_shared<Args>();
  auto* eval = app.add_subcommand("eval", "mean next-token cross-entropy of a checkpoint");
  eval->add_option("--ckpt", a->ckpt, "checkpoint (.safetensors)")->required();
  auto* tok_opt = eval->add_option("--tokens", a->tokens, "token ids: one sequence per line, ids separated by spaces");
  auto* text_opt = eval->add_option("--text", a->text, "text file, encoded with the checkpoint's tokenizer, scored line by line");
  tok_opt->excludes(text_opt);
  commands.on(eval, [a] {
    if (a->tokens.empty() && a->text.empty()) throw Error("engram eval needs --tokens FILE or --text FILE");
    auto ckpt = load_checkpoint(a->ckpt);
    std::vector<std::vector<int64_t>> seqs;
    if (!a->tokens.empty()) {
      seqs = parse_id_lines(read_input(a->tokens), a->tokens);
    } else {
      Tokenizer tok = tokenizer_from_spec(ckpt.contents.tokenizer, "checkpoint " + a->ckpt);
      std::istringstream in(read_input(a->text));
      for (std::string line; std::getline(in, line);) {
        std::vector<int64_t> ids;
        for (int id : tok.encode(line)) ids.push_back(id);
        if (!ids.empty()) seqs.push_back(ids);
      }
    }
    const std::string source = a->tokens.empty() ? a->text : a->tokens;
    if (seqs.empty()) throw Error("eval: no sequences in " + source);
    SequenceScore total;
    try {
      total = score_sequences(*ckpt.model, seqs);
    } catch (const Error& e) {
      throw Error("eval of " + a->ckpt + " on " + source + ": " + e.what());
    }
    std::printf("%.6f nats/token (perplexity %.3f) over %lld targets in %zu sequences\n", total.mean(), std::exp(total.mean()),
                static_cast<long long>(total.targets), seqs.size());
    return 0;
  });
}

void add_position_loss(CLI::App& app, Commands& commands) {
  struct Args {
    std::vector<std::string> ckpts;
    std::string text, plot;
    int64_t window = 128, windows = 64;
  };
  auto a = std::make_shared<Args>();
  auto* positions = app.add_subcommand("position-loss", "loss against position in the context, for one or more checkpoints");
  positions->add_option("--ckpt", a->ckpts, "checkpoint(s) (.safetensors); repeat to compare")->required();
  positions->add_option("--text", a->text, "text file, encoded with each checkpoint's tokenizer")->required();
  positions->add_option("--window", a->window, "tokens of context per window")->check(between(1, 1 << 20));
  positions->add_option("--windows", a->windows, "number of windows averaged")->check(between(1, 1 << 20));
  positions->add_option("--plot", a->plot, "PNG file for the curves");
  commands.on(positions, [a] {
    compare_position_loss(a->ckpts, read_input(a->text), a->window, a->windows, a->plot);
    return 0;
  });
}

void add_sample(CLI::App& app, Commands& commands) {
  struct Args {
    std::string ckpt, prompt = "\n";
    SampleOptions options;
    bool no_cache = false, libtorch = false;
  };
  auto a = std::make_shared<Args>();
  auto* sample = app.add_subcommand("sample", "generate text from a checkpoint");
  sample->add_option("--ckpt", a->ckpt, "checkpoint (.safetensors)")->required();
  sample->add_option("--prompt", a->prompt, "text to continue");
  sample->add_option("--tokens", a->options.max_new_tokens, "number of tokens to generate")->check(between(1, 1 << 20));
  sample->add_option("--temperature", a->options.temperature, "0 = greedy")->check(between(0.0, 100.0));
  sample->add_option("--top-k", a->options.top_k, "sample among the k most likely tokens (0 = all)")->check(between(0, 1 << 30));
  sample->add_option("--seed", a->options.seed, "random seed");
  sample->add_flag("--no-cache", a->no_cache, "recompute the whole prefix for every token (slow; for comparison)");
  sample->add_flag("--libtorch", a->libtorch, "decode with LibTorch's step() rather than engram's runtime (for comparison)");
  commands.on(sample, [a] {
    auto ckpt = load_checkpoint(a->ckpt);
    Tokenizer tok = tokenizer_from_spec(ckpt.contents.tokenizer, "checkpoint " + a->ckpt);
    SampleOptions so = a->options;
    so.use_cache = !a->no_cache;
    so.use_runtime = !a->libtorch;
    if (auto eot = tok.special_id("<|endoftext|>")) so.stop_token = *eot;
    std::vector<int64_t> ids;
    for (int id : tok.encode(a->prompt)) ids.push_back(id);
    std::vector<int> out;
    for (auto id : generate(*ckpt.model, ids, so)) out.push_back(static_cast<int>(id));
    std::printf("%s%s\n", a->prompt.c_str(), tok.decode(out).c_str());
    return 0;
  });
}

void add_import(CLI::App& app, Commands& commands) {
  struct Args {
    std::string in, out, tokenizer;
  };
  auto a = std::make_shared<Args>();
  auto* import = app.add_subcommand("import", "a nanoMosaics MemoryMosaic saved by torch.save -> an engram checkpoint");
  import->add_option("file", a->in, "state dict (torch.save(model.state_dict())) or nanoMosaics ckpt.pt")->required();
  import->add_option("--out", a->out, "checkpoint to write (.safetensors)")->required();
  import->add_option("--tokenizer", a->tokenizer, "tokenizer to store with it: gpt2 or an engram tokenizer .json");
  commands.on(import, [a] {
    auto imported = import_nano_mosaic(a->in);
    CheckpointContents contents;
    if (!a->tokenizer.empty()) {
      Tokenizer tok = open_tokenizer(a->tokenizer);
      if (tok.vocab_size() > imported.config.vocab_size)
        throw Error("tokenizer " + a->tokenizer + " has " + std::to_string(tok.vocab_size()) + " tokens; the model only " +
                    std::to_string(imported.config.vocab_size));
      contents.tokenizer = a->tokenizer == "gpt2" ? "gpt2" : tok.to_json();
    }
    save_checkpoint(a->out, *imported.model, contents);
    std::printf("imported %lld tensors: %s\nwrote %s\n", static_cast<long long>(imported.tensors),
                imported.model->describe().summary.c_str(), a->out.c_str());
    return 0;
  });
}

void add_bench(CLI::App& app, Commands& commands) {
  struct Args {
    BenchOptions options;
    std::vector<std::string> sets;
    std::string json, config;
    bool scaling = false;
    ScalingOptions scaling_options;
  };
  auto a = std::make_shared<Args>();
  auto* bench = app.add_subcommand("bench", "speed: matmul peak, train tokens/s and MFU, generation ms/token, tokenizer MB/s");
  bench->add_flag("--scaling", a->scaling,
                  "instead: training time and memory and generation time per token against the context length, per family");
  bench->add_option("--contexts", a->scaling_options.contexts, "--scaling's context lengths (default 256 … 16384)")
      ->check(between(2, 1 << 20));
  bench->add_option("--families", a->scaling_options.families, "--scaling's model types (default transformer mosaic atlas)");
  bench->add_option("--plot", a->scaling_options.plot, "--scaling draws PREFIX-time.png and PREFIX-memory.png");
  bench->add_option("--memory-budget", a->scaling_options.memory_budget_mb,
                    "--scaling skips training a point predicted to need more MB than this (default: 80 % of the available memory)")
      ->check(between(1.0, 1e9));
  bench->add_flag("--threads", a->options.threads, "also compare LibTorch vs BLAS thread policies");
  bench->add_flag("--compare-kernels", a->options.compare_kernels,
                  "also train on LibTorch's composition instead of the blocked softmax-read kernels");
  bench->add_option("--seconds", a->options.seconds, "time per measurement")->check(between(0.1, 600.0));
  bench->add_option("--batch", a->options.batch_size, "training batch size")->check(between(1, 4096));
  bench->add_option("--block", a->options.block_size, "training context length")->check(between(1, 65536));
  bench->add_option("--set", a->sets, "override the benchmark model, e.g. --set n_layer=8");
  bench->add_option("--json", a->json, "append the raw numbers as one JSON line to this file");
  bench->add_option("--config", a->config, "JSON file {\"model\": {...}, \"batch\": B, \"block\": T} (configs/bench-*.json)");
  commands.on(bench, [a] {
    // --json: one line per record, appended
    auto append = [&](const std::vector<nlohmann::json>& records) {
      if (a->json.empty()) return;
      std::ofstream out(a->json, std::ios::app);
      if (!out) throw Error("cannot append to " + a->json);
      for (const auto& r : records) out << r.dump() << "\n";
    };
    if (a->scaling) {
      ScalingOptions so = a->scaling_options;
      so.seconds = std::min(a->options.seconds, 1.0);
      const auto points = run_scaling_bench(so);
      append(std::vector<nlohmann::json>(points.begin(), points.end()));
      return 0;
    }
    BenchOptions bo = a->options;
    if (!a->config.empty()) read_bench_config(a->config, bo);
    for (const auto& s : a->sets) apply_override(bo.model, s);
    nlohmann::json record;
    auto rows = run_bench(bo, record);
    print_table(rows, {"measurement", "value", "unit", "note"});
    append({record});
    return 0;
  });
}

void add_compare(CLI::App& app, Commands& commands) {
  struct Args {
    std::vector<std::string> runs;
    std::string metric = "val_loss", plot, title;
  };
  auto a = std::make_shared<Args>();
  auto* compare = app.add_subcommand("compare", "runs side by side: a table of final metrics and a plot of one metric");
  compare->add_option("runs", a->runs, "run directories")->required();
  compare->add_option("--metric", a->metric, "a metrics.jsonl key: val_loss, val_accuracy, train_loss, …");
  compare->add_option("--plot", a->plot, "PNG file to draw the metric against the step");
  compare->add_option("--title", a->title, "plot title");
  commands.on(compare, [a] {
    compare_runs(a->runs, a->metric, a->plot, a->title);
    return 0;
  });
}

}  // namespace

void add_lm_commands(CLI::App& app, Commands& commands) {
  add_train(app, commands);
  add_eval(app, commands);
  add_position_loss(app, commands);
  add_sample(app, commands);
  add_import(app, commands);
  add_bench(app, commands);
  add_compare(app, commands);
}

}  // namespace engram::cli

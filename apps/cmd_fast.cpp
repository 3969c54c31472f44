// FAST action tokens: fit a tokenizer on demonstrations, measure it, encode and decode chunks.
#include <cstdio>
#include <memory>

#include "cli_checks.h"
#include "commands.h"
#include "engram/core/error.h"
#include "engram/core/metrics.h"
#include "engram/data/id_text.h"
#include "engram/fast/fast_stats.h"

namespace engram::cli {

namespace {

constexpr int64_t kHoldoutEvery = 20;  // as `policy train`: every 20th episode is held out

void print_stats(const FastStats& s, int64_t H, int64_t D) {
  std::printf("γ %-5g vocab %4lld (alphabet %lld): %.1f tokens per chunk (max %lld) vs %lld values = %.2f× compression; "
              "RMSE %.4f vs rounding's %.4f; %lld decode failures, %lld clamped coefficients over %lld held-out chunks\n",
              s.gamma, static_cast<long long>(s.vocab_size), static_cast<long long>(s.alphabet), s.tokens_mean,
              static_cast<long long>(s.tokens_max), static_cast<long long>(H * D), s.compression, s.rmse, s.rmse_rounding,
              static_cast<long long>(s.decode_failures), static_cast<long long>(s.clamped), static_cast<long long>(s.chunks));
}

// A tokenizer fitted on D-dimensional actions reads only D-dimensional demonstrations.
void require_same_dims(const FastTokenizer& tok, int64_t dims, const std::string& data, const std::string& tokenizer) {
  if (dims != tok.dims())
    throw Error(data + " holds " + std::to_string(dims) + "-D actions; " + tokenizer + " was fitted on " +
                std::to_string(tok.dims()) + "-D actions");
}

}  // namespace

void add_fast_commands(CLI::App& app, Commands& commands) {
  struct Args {
    std::string data, out, tokenizer, json;
    int64_t horizon = 16, vocab = 256, chunk = 0;
    double gamma = 10;
    std::vector<double> gammas{5, 10, 20};
    std::vector<int64_t> ids;
  };
  auto a = std::make_shared<Args>();
  auto* fast = app.add_subcommand("fast", "FAST action tokens (DCT + BPE): fit, stats, encode, decode");
  fast->require_subcommand(1);

  auto* fit = fast->add_subcommand("fit", "fit a FAST tokenizer on the training episodes of a demonstration file");
  fit->add_option("--data", a->data, "demonstrations (.h5)")->required();
  fit->add_option("--out", a->out, "tokenizer file to write (.json)")->required();
  fit->add_option("--horizon", a->horizon, "actions per chunk H")->check(between(1, 1024));
  fit->add_option("--gamma", a->gamma, "scale before rounding γ")->check(between(0.01, 10000.0));
  fit->add_option("--vocab", a->vocab, "BPE vocabulary size")->check(between(2, 1 << 20));
  commands.on(fit, [a] {
    std::vector<double> train, held_out;
    int64_t D = 0;
    read_action_chunks(a->data, a->horizon, kHoldoutEvery, train, held_out, D);
    const auto tok = FastTokenizer::fit(train, a->horizon, D, a->gamma, a->vocab);
    tok.save(a->out);
    std::printf("wrote %s: H %lld, D %lld, fitted on %zu chunks\n", a->out.c_str(), static_cast<long long>(a->horizon),
                static_cast<long long>(D), train.size() / static_cast<size_t>(a->horizon * D));
    print_stats(measure_fast(tok, held_out.empty() ? train : held_out), a->horizon, D);
    return 0;
  });

  auto* stats = fast->add_subcommand("stats", "tokens per chunk, compression and round-trip error for several γ (or one tokenizer)");
  stats->add_option("--data", a->data, "demonstrations (.h5): fitted on the training episodes, measured on the held-out ones")
      ->required();
  auto* tok_opt = stats->add_option("--tokenizer", a->tokenizer, "measure this tokenizer instead of fitting one per γ");
  stats->add_option("--horizon", a->horizon, "actions per chunk H")->check(between(1, 1024))->excludes(tok_opt);
  stats->add_option("--gammas", a->gammas, "γ values to fit")->delimiter(',')->check(between(0.01, 10000.0))->excludes(tok_opt);
  stats->add_option("--vocab", a->vocab, "BPE vocabulary size")->check(between(2, 1 << 20))->excludes(tok_opt);
  stats->add_option("--json", a->json, "append one JSON line per γ to this file");
  commands.on(stats, [a] {
    std::vector<FastTokenizer> tokenizers;
    std::vector<double> train, held_out;
    int64_t D = 0;
    if (!a->tokenizer.empty()) {
      tokenizers.push_back(FastTokenizer::load(a->tokenizer));
      a->horizon = tokenizers[0].horizon();
    }
    read_action_chunks(a->data, a->horizon, kHoldoutEvery, train, held_out, D);
    if (!tokenizers.empty()) require_same_dims(tokenizers[0], D, a->data, a->tokenizer);
    if (tokenizers.empty())
      for (double gamma : a->gammas) tokenizers.push_back(FastTokenizer::fit(train, a->horizon, D, gamma, a->vocab));
    for (const auto& tok : tokenizers) {
      const auto s = measure_fast(tok, held_out.empty() ? train : held_out);
      print_stats(s, a->horizon, D);
      if (!a->json.empty()) MetricsLog(a->json).write(s.to_json());
    }
    return 0;
  });

  auto* encode = fast->add_subcommand("encode", "the FAST tokens of one chunk of a demonstration file");
  encode->add_option("--tokenizer", a->tokenizer, "tokenizer file")->required();
  encode->add_option("--data", a->data, "demonstrations (.h5)")->required();
  encode->add_option("--chunk", a->chunk, "chunk index among the training chunks")->check(between(0, 1e12));
  commands.on(encode, [a] {
    const auto tok = FastTokenizer::load(a->tokenizer);
    std::vector<double> train, held_out;
    int64_t D = 0;
    read_action_chunks(a->data, tok.horizon(), kHoldoutEvery, train, held_out, D);
    require_same_dims(tok, D, a->data, a->tokenizer);
    const int64_t n = static_cast<int64_t>(train.size()) / (tok.horizon() * D);
    if (a->chunk >= n) throw Error("fast encode: --chunk " + std::to_string(a->chunk) + " is past the " + std::to_string(n) + " chunks");
    std::vector<int64_t> ids = tok.encode(train.data() + a->chunk * tok.horizon() * D);
    std::printf("%s\n", format_ids(std::vector<int>(ids.begin(), ids.end())).c_str());
    return 0;
  });

  auto* decode = fast->add_subcommand("decode", "FAST tokens -> a chunk (H lines of D actions), or a clear failure");
  decode->add_option("--tokenizer", a->tokenizer, "tokenizer file")->required();
  decode->add_option("ids", a->ids, "token ids")->required();
  commands.on(decode, [a] {
    const auto tok = FastTokenizer::load(a->tokenizer);
    const auto d = tok.decode(a->ids);
    if (!d.ok) throw Error("fast decode: " + d.why);
    for (int64_t t = 0; t < tok.horizon(); ++t) {
      for (int64_t j = 0; j < tok.dims(); ++j) std::printf(j ? " %.6g" : "%.6g", d.chunk[static_cast<size_t>(t * tok.dims() + j)]);
      std::printf("\n");
    }
    return 0;
  });
}

}  // namespace engram::cli

#include "engram/fast/fast_tokenizer.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "engram/core/error.h"
#include "engram/core/json.h"

namespace engram {

namespace {

std::string format_number(double x) {
  std::ostringstream s;
  s << x;
  return s.str();
}

// Normalised, transformed, scaled and rounded (half to even, as numpy): [H, D] integers.
std::vector<int64_t> rounded_coefficients(const Dct& dct, const Quantiles& q, const double* chunk, int64_t H, int64_t D,
                                          double gamma) {
  std::vector<double> x(static_cast<size_t>(H * D));
  for (int64_t i = 0; i < H * D; ++i) x[static_cast<size_t>(i)] = q.normalise(chunk[i], i % D);
  const auto c = dct.forward(x, D);
  std::vector<int64_t> out(c.size());
  for (size_t i = 0; i < c.size(); ++i) out[i] = static_cast<int64_t>(std::nearbyint(gamma * c[i]));
  return out;
}

}  // namespace

FastTokenizer::FastTokenizer(int64_t horizon, int64_t dims, double gamma, Quantiles quantiles, int64_t min_token, SymbolBpe bpe)
    : horizon_(horizon), dims_(dims), gamma_(gamma), quantiles_(std::move(quantiles)), min_token_(min_token),
      bpe_(std::move(bpe)), dct_(horizon) {}

FastTokenizer FastTokenizer::fit(const std::vector<double>& chunks, int64_t H, int64_t D, double gamma, int64_t vocab_size) {
  check_chunks_to_fit(chunks, H, D, "FAST");
  if (!(gamma > 0)) throw Error("FAST: γ must be positive");
  const auto per_chunk = static_cast<size_t>(H * D);
  const Quantiles q = Quantiles::fit(chunks, D);
  const Dct dct(H);
  const size_t n = chunks.size() / per_chunk;
  std::vector<std::vector<int64_t>> coefficients(n);
  int64_t lo = 0, hi = 0;
  for (size_t c = 0; c < n; ++c) {
    coefficients[c] = rounded_coefficients(dct, q, chunks.data() + c * per_chunk, H, D, gamma);
    const auto [mn, mx] = std::minmax_element(coefficients[c].begin(), coefficients[c].end());
    lo = c == 0 ? *mn : std::min(lo, *mn);
    hi = c == 0 ? *mx : std::max(hi, *mx);
  }
  const int64_t alphabet = hi - lo + 1;
  if (alphabet > vocab_size)
    throw Error("FAST: the rounded coefficients span " + std::to_string(alphabet) + " symbols (" + std::to_string(lo) + " … " +
                std::to_string(hi) + " at γ = " + format_number(gamma) + "), more than the vocabulary of " +
                std::to_string(vocab_size) + ": raise the vocabulary or lower γ");
  for (auto& s : coefficients)
    for (auto& x : s) x -= lo;
  return FastTokenizer(H, D, gamma, q, lo, SymbolBpe::fit(coefficients, alphabet, vocab_size));
}

std::vector<int64_t> FastTokenizer::symbols(const double* chunk, int64_t* clamped) const {
  auto s = rounded_coefficients(dct_, quantiles_, chunk, horizon_, dims_, gamma_);
  int64_t outside = 0;
  for (auto& x : s) {
    const int64_t symbol = x - min_token_;
    x = std::clamp<int64_t>(symbol, 0, alphabet() - 1);
    outside += x != symbol;
  }
  if (clamped) *clamped += outside;
  return s;
}

std::vector<int64_t> FastTokenizer::encode(const double* chunk, int64_t* clamped) const {
  return bpe_.encode(symbols(chunk, clamped));
}

DecodedChunk FastTokenizer::decode(const std::vector<int64_t>& ids) const {
  DecodedChunk out;
  std::vector<int64_t> s;
  if (!bpe_.decode(ids, s)) {
    for (int64_t id : ids)
      if (id < 0 || id >= vocab_size()) {
        out.why = "token id " + std::to_string(id) + " is outside the vocabulary 0…" + std::to_string(vocab_size() - 1);
        break;
      }
  } else if (static_cast<int64_t>(s.size()) != horizon_ * dims_) {
    out.why = "the tokens expand to " + std::to_string(s.size()) + " coefficients; a chunk has " + std::to_string(horizon_ * dims_);
  } else {
    std::vector<double> c(s.size());
    for (size_t i = 0; i < s.size(); ++i) c[i] = static_cast<double>(s[i] + min_token_) / gamma_;
    out.chunk = dct_.inverse(c, dims_);
    for (size_t i = 0; i < out.chunk.size(); ++i) out.chunk[i] = quantiles_.unnormalise(out.chunk[i], static_cast<int64_t>(i) % dims_);
    out.ok = true;
    return out;
  }
  // What the reference does on failure: a zero chunk in normalised units, i.e. the quantile midpoints.
  out.chunk.resize(static_cast<size_t>(horizon_ * dims_));
  for (size_t i = 0; i < out.chunk.size(); ++i) out.chunk[i] = quantiles_.unnormalise(0.0, static_cast<int64_t>(i) % dims_);
  return out;
}

nlohmann::json FastTokenizer::to_json() const {
  nlohmann::json merges = nlohmann::json::array();
  for (const auto& [a, b] : bpe_.merges()) merges.push_back({a, b});
  return {{"format", kFormat},        {"horizon", horizon_},         {"action_dim", dims_},
          {"gamma", gamma_},          {"q01", quantiles_.low},       {"q99", quantiles_.high},
          {"min_token", min_token_},  {"alphabet", bpe_.alphabet()}, {"merges", merges}};
}

FastTokenizer FastTokenizer::from_json(const nlohmann::json& j, const std::string& where) {
  auto bad = [&](const std::string& what) { return Error(where + ": not a FAST tokenizer (" + what + ")"); };
  if (!j.is_object()) throw bad("expected a JSON object");
  if (j.value("format", std::string()) != kFormat) throw bad("'format' must be \"" + std::string(kFormat) + "\"");
  auto integer = [&](const char* key, int64_t lo, int64_t hi) { return tokenizer_integer(j, key, lo, hi, bad); };
  const int64_t H = integer("horizon", 1, 4096), D = integer("action_dim", 1, 4096);
  const int64_t min_token = integer("min_token", -(int64_t{1} << 40), int64_t{1} << 40);
  const int64_t alphabet = integer("alphabet", 1, 1 << 20);
  if (!j.contains("gamma") || !j["gamma"].is_number() || !(j["gamma"].get<double>() > 0)) throw bad("'gamma' must be a positive number");
  const Quantiles q = Quantiles::from_json(j, D, bad);
  if (!j.contains("merges") || !j["merges"].is_array()) throw bad("'merges' must be a list of id pairs");
  std::vector<SymbolBpe::Pair> merges;
  for (const auto& m : j["merges"]) {
    if (!m.is_array() || m.size() != 2 || !m[0].is_number_integer() || !m[1].is_number_integer())
      throw bad("every merge must be a pair of integer ids");
    merges.emplace_back(m[0].get<int64_t>(), m[1].get<int64_t>());
  }
  try {
    return FastTokenizer(H, D, j["gamma"].get<double>(), q, min_token, SymbolBpe(alphabet, std::move(merges)));
  } catch (const Error& e) {
    throw bad(e.what());
  }
}

FastTokenizer FastTokenizer::load(const std::string& path) { return from_json(read_json_file(path, "FAST tokenizer"), path); }

}  // namespace engram

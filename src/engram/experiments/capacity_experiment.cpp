#include "engram/experiments/capacity_experiment.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <torch/torch.h>

#include "engram/core/atomic_file.h"
#include "engram/core/plot.h"
#include "engram/memory/feature_map.h"
#include "engram/memory/inner_loop.h"
#include "engram/memory/newton_schulz.h"
#include "engram/experiments/bench.h"

namespace engram {
namespace {

// ‖pred − v‖² / ‖v‖², averaged over memories.
double relative_error(const torch::Tensor& predicted, const torch::Tensor& values) {
  return ((predicted - values).square().sum({1, 2}) / values.square().sum({1, 2})).mean().item<double>();
}

std::string fmt(double x) {
  if (!std::isfinite(x)) return "diverged";
  char b[32];
  std::snprintf(b, sizeof b, x < 1e-3 || x >= 1e4 ? "%.1e" : "%.3f", x);
  return b;
}

// A memory of `depth` weight matrices (GELU between them, no residual, no normalisation) fitted to
// every pair by full-batch Adam: how much a deeper memory can store, not how fast an inner
// optimiser gets there. Returns the relative recall error, and the number of weights in `params`.
double fit_deep_memory(const torch::Tensor& features, const torch::Tensor& values, int64_t depth, int64_t hidden,
                       int64_t steps, int64_t& params) {
  torch::AutoGradMode grad(true);
  const int64_t trials = features.size(0);
  std::vector<int64_t> dims{features.size(2)};
  for (int64_t l = 1; l < depth; ++l) dims.push_back(hidden);
  dims.push_back(values.size(2));
  std::vector<torch::Tensor> w;
  params = 0;
  for (size_t l = 0; l + 1 < dims.size(); ++l) {
    w.push_back((torch::randn({trials, dims[l], dims[l + 1]}, features.options()) / std::sqrt(static_cast<double>(dims[l]))).requires_grad_(true));
    params += dims[l] * dims[l + 1];
  }
  auto forward = [&] {  // bmm's backward hands gelu contiguous gradients (see exact_gelu in inner_memory.cpp)
    auto h = features;
    for (size_t l = 0; l < w.size(); ++l) h = l + 1 < w.size() ? torch::gelu(torch::bmm(h, w[l])) : torch::bmm(h, w[l]);
    return h;
  };
  torch::optim::Adam adam(w, torch::optim::AdamOptions(1e-2));
  for (int64_t step = 0; step < steps; ++step) {
    // Cosine decay to 1 % so the last steps settle into the minimum Adam has found.
    static_cast<torch::optim::AdamOptions&>(adam.param_groups()[0].options()).lr(1e-2 * (0.01 + 0.99 * 0.5 * (1 + std::cos(M_PI * step / steps))));
    adam.zero_grad();
    (forward() - values).square().sum().backward();
    adam.step();
  }
  torch::NoGradGuard no_grad;
  return relative_error(forward(), values);
}

// A linear memory fitted to every pair (the global objective Σ‖M φ_i − v_i‖², window = all N) by
// full-batch steps of an inner optimiser from M = 0, with η decayed to 0 on a cosine; returns the
// relative recall error after each of the `at` steps (NaN once it diverges). GD, momentum
// (S ← θS − ηG, M ← M + S) or Muon (S ← θS + G, M ← M − η NS_k(S)), as in inner_loop.h.
std::vector<double> fit_by_optimiser(const torch::Tensor& x, const torch::Tensor& v, InnerOptimizer optimizer, int64_t ns_steps,
                                     double eta, const std::vector<int64_t>& at) {
  const double theta = optimizer == InnerOptimizer::kGd ? 0.0 : 0.9;
  const int64_t steps = at.back();
  auto m = torch::zeros({x.size(0), v.size(2), x.size(2)}, x.options());
  auto s = torch::zeros_like(m);
  std::vector<double> errors;
  for (int64_t t = 1; t <= steps; ++t) {
    const double lr = eta * 0.5 * (1 + std::cos(M_PI * static_cast<double>(t - 1) / static_cast<double>(steps)));
    auto g = 2 * torch::bmm((torch::bmm(x, m.transpose(1, 2)) - v).transpose(1, 2), x);  // [trials, d_v, D]
    if (optimizer == InnerOptimizer::kGd) {
      m = m - lr * g;
    } else if (optimizer == InnerOptimizer::kMomentum) {
      s = theta * s - lr * g;
      m = m + s;
    } else {
      s = theta * s + g;
      m = m - lr * newton_schulz(s, ns_steps);
    }
    if (std::find(at.begin(), at.end(), t) != at.end()) errors.push_back(relative_error(torch::bmm(x, m.transpose(1, 2)), v));
  }
  return errors;
}

// Inner-loop inputs that write pairs (x, v) with fixed gates: step size η, momentum decay θ, no
// forgetting (α = 1), every window token weighted 1 (γ = 1); the queries are the keys.
InnerLoopInputs fixed_gate_inputs(const torch::Tensor& x, const torch::Tensor& v, double eta, double theta) {
  const auto shape = std::vector<int64_t>{x.size(0), x.size(1)};
  const auto opts = x.options();
  InnerLoopInputs in;
  in.keys = {x, v, {}, {}};
  in.queries = x;
  in.gamma = torch::ones(shape, opts);
  in.eta = torch::full(shape, eta, opts);
  in.alpha = torch::ones(shape, opts);
  in.theta = torch::full(shape, theta, opts);
  return in;
}

// Every part plots a recall error on a log scale.
PlotSpec error_plot(const std::string& out, const std::string& title, const std::string& xlabel, const std::string& ylabel) {
  PlotSpec spec;
  spec.out = out;
  spec.title = title;
  spec.xlabel = xlabel;
  spec.ylabel = ylabel;
  spec.logy = true;
  return spec;
}

}  // namespace

nlohmann::json run_capacity(const CapacityOptions& o) {
  torch::NoGradGuard no_grad;
  std::filesystem::create_directories(o.out);
  torch::manual_seed(o.seed);
  const std::vector<double> fractions{0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0};
  nlohmann::json results = {{"options", write_config(o)}};
  // float64 throughout: on the unit sphere φ_p has exact linear dependencies (‖x‖² = 1), which
  // float32 rounding would hide behind tiny singular values that pinv then inverts.
  auto draw = [&](int64_t n) {
    auto keys = torch::randn({o.trials, n, o.key_dim}, torch::kFloat64);
    return std::make_pair(keys / keys.norm(2, -1, true), torch::randn({o.trials, n, o.value_dim}, torch::kFloat64));
  };

  // (a) least squares on φ_p
  std::vector<TableRow> rows;
  PlotSpec fit = error_plot(o.out + "/least-squares.png", "linear memory on φ_p: least-squares recall", "pairs stored / dim φ_p",
                            "relative recall error");
  for (int64_t p : o.degrees) {
    FeatureMap phi(FeatureKind::kPolynomial, o.key_dim, p);
    const int64_t D = phi.output_dim();
    // Rank of φ_p on the sphere: the monomials of degree ≤ p − 2 times (‖x‖² − 1) vanish there.
    const int64_t rank = p >= 2 ? D - binomial(o.key_dim + p - 2, p - 2) : D;
    PlotSeries s;
    s.label = "p = " + std::to_string(p) + " (dim " + std::to_string(D) + ", rank " + std::to_string(rank) + ")";
    s.style = "o-";
    std::string note;
    nlohmann::json curve = nlohmann::json::array();
    std::vector<int64_t> sizes;
    for (double f : fractions) sizes.push_back(std::max<int64_t>(1, std::llround(f * static_cast<double>(D))));
    sizes.push_back(rank);
    sizes.push_back(rank + 1);
    std::sort(sizes.begin(), sizes.end());
    sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
    for (int64_t n : sizes) {
      auto [keys, values] = draw(n);
      auto features = phi.forward(keys);
      auto fitted = torch::matmul(features, torch::matmul(torch::linalg::pinv(features), values.to(torch::kFloat64)));
      const double err = std::max(relative_error(fitted, values.to(torch::kFloat64)), 1e-16);
      s.x.push_back(static_cast<double>(n) / static_cast<double>(D));
      s.y.push_back(err);
      curve.push_back({{"pairs", n}, {"relative_error", err}});
      note += (note.empty() ? "" : " | ") + std::to_string(n) + ": " + fmt(err);
    }
    results["least_squares"][std::to_string(p)] = {{"dim", D}, {"rank", rank}, {"curve", curve}};
    fit.series.push_back(s);
    rows.push_back({"p = " + std::to_string(p), std::to_string(D) + " / " + std::to_string(rank), "dim / rank", note});
  }
  std::printf("(a) least-squares recall error of a linear memory on φ_p (d_k = %lld), by pairs stored\n",
              static_cast<long long>(o.key_dim));
  print_table(rows, {"features", "dim φ_p / rank on the sphere", "", "relative recall error at N pairs"});

  // (b) streaming: one GD step per arriving pair on an Omega window of c pairs, then recall of all.
  rows.clear();
  FeatureMap phi(FeatureKind::kPolynomial, o.key_dim, 2);
  const int64_t D = phi.output_dim();
  PlotSpec stream = error_plot(o.out + "/streaming.png", "streaming storage, linear memory on φ_2 (dim " + std::to_string(D) + ")",
                               "pairs streamed", "relative recall error of all pairs");
  InnerMemoryConfig mc;
  mc.kind = MemoryKind::kLinear;
  mc.input_dim = D;
  mc.output_dim = o.value_dim;
  InnerMemory memory(mc);
  for (int64_t c : o.windows) {
    InnerLoopConfig lc;
    lc.optimizer = InnerOptimizer::kGd;
    lc.mode = InnerMode::kPerToken;
    lc.window = c;
    lc.chunk = 1;
    PlotSeries s;
    s.label = "window c = " + std::to_string(c);
    s.style = "o-";
    std::string note;
    nlohmann::json curve = nlohmann::json::array();
    for (double f : fractions) {
      const int64_t n = std::max<int64_t>(1, std::llround(f * static_cast<double>(D)));
      auto [keys, values] = draw(n);
      auto features = phi.forward(keys);
      // Step size 1/(2c‖φ‖²): stable for a window of c pairs (the Hessian's norm is at most 2c‖φ‖²).
      const double eta = 0.5 / (static_cast<double>(c) * features.square().sum(-1).mean().item<double>());
      auto state = initial_inner_state(memory, {torch::zeros({o.value_dim, D}, torch::kFloat64)}, o.trials);
      run_inner_loop(memory, lc, fixed_gate_inputs(features, values, eta, 0.0), state);
      const double err = relative_error(memory.read(state.weights, {features, {}, {}, {}}), values);
      s.x.push_back(static_cast<double>(n));
      s.y.push_back(err);
      curve.push_back({{"pairs", n}, {"relative_error", err}});
      note += (note.empty() ? "" : " | ") + std::to_string(n) + ": " + fmt(err);
    }
    results["streaming"][std::to_string(c)] = curve;
    stream.series.push_back(s);
    rows.push_back({"c = " + std::to_string(c), std::to_string(D), "dim φ_2", note});
  }
  std::printf("\n(b) streaming: one GD step per arriving pair on a window of c pairs (α = 1), then recall of every pair\n");
  print_table(rows, {"window", "dim", "", "relative recall error after N pairs"});

  // (c) depth: linear memories on φ_1 and φ_2 against deeper memories on φ_1 with about as many
  // weights as the linear memory on φ_2 (spec §16.4 E1(d), the paper's Theorem 1: depth adds capacity).
  if (o.depth_steps > 0) {
    rows.clear();
    PlotSpec deep = error_plot(o.out + "/depth.png", "memory depth at about equal weights (fitted by Adam)", "pairs stored",
                               "relative recall error");
    FeatureMap phi1(FeatureKind::kPolynomial, o.key_dim, 1), phi2(FeatureKind::kPolynomial, o.key_dim, 2);
    const int64_t D2 = phi2.output_dim();
    struct Memory { std::string name; FeatureMap* phi; int64_t depth, hidden; };
    const int64_t matched2 = (D2 * o.value_dim) / (phi1.output_dim() + o.value_dim);  // depth 2, weights ≈ linear on φ_2
    int64_t matched3 = 1;  // depth 3: the largest hidden width whose weights do not exceed linear on φ_2
    while ((phi1.output_dim() + matched3 + 1 + o.value_dim) * (matched3 + 1) <= D2 * o.value_dim) ++matched3;
    const std::vector<Memory> memories{{"linear on φ_1", &phi1, 1, 0},
                                       {"linear on φ_2", &phi2, 1, 0},
                                       {"depth 2 (hidden " + std::to_string(matched2) + ") on φ_1", &phi1, 2, matched2},
                                       {"depth 3 (hidden " + std::to_string(matched3) + ") on φ_1", &phi1, 3, matched3}};
    // Every memory is fitted to the same pairs at each size.
    const std::vector<double> depth_fractions{0.25, 0.5, 1.0, 1.5, 2.0, 3.0};
    std::vector<std::pair<torch::Tensor, torch::Tensor>> pairs;
    for (double f : depth_fractions) pairs.push_back(draw(std::max<int64_t>(1, std::llround(f * static_cast<double>(D2)))));
    for (const auto& m : memories) {
      PlotSeries s;
      s.style = "o-";
      std::string note;
      int64_t params = 0;
      nlohmann::json curve = nlohmann::json::array();
      for (const auto& [keys, values] : pairs) {
        const int64_t n = keys.size(1);
        const double err = fit_deep_memory(m.phi->forward(keys), values, m.depth, m.hidden, o.depth_steps, params);
        s.x.push_back(static_cast<double>(n));
        s.y.push_back(std::max(err, 1e-16));
        curve.push_back({{"pairs", n}, {"relative_error", err}});
        note += (note.empty() ? "" : " | ") + std::to_string(n) + ": " + fmt(err);
      }
      s.label = m.name + ", " + std::to_string(params) + " weights";
      results["depth"][m.name] = {{"weights", params}, {"depth", m.depth}, {"hidden", m.hidden}, {"curve", curve}};
      deep.series.push_back(s);
      rows.push_back({m.name, std::to_string(params), "weights", note});
    }
    std::printf("\n(c) depth: memories fitted to every pair by full-batch Adam (%lld steps), about equal weights\n",
                static_cast<long long>(o.depth_steps));
    print_table(rows, {"memory", "weights", "", "relative recall error at N pairs"});
    if (o.plots && plot_lines(deep)) std::printf("plot: %s\n", deep.out.c_str());
  }
  // (d) needle survival: a needle pair written first, then a haystack that cycles through a few
  // pairs (like NIAH's filler, which the memory soon predicts), all through the same online rule
  // (c = 1, α = 1). The needle's key is orthogonal to the haystack's (a model can key them apart),
  // so a linear memory's updates never reach it; an MLP memory's second layer is shared by every
  // key. Tests why ATLAS with Muon does not extrapolate on NIAH (E5): a GD step shrinks as the
  // haystack's error does, Muon's step has the same size whatever the error.
  rows.clear();
  PlotSpec needle = error_plot(o.out + "/needle.png", "needle recall after a repeating haystack (c = 1, middle step size)",
                               "haystack tokens after the needle", "relative recall error of the needle");
  needle.logx = true;
  needle.ymax = 1e3;  // a relative error past 1,000 has diverged; the other curves stay readable
  {
    const int64_t dk = o.needle_key_dim, H = o.haystack_pairs, longest = o.haystack_lengths.back();
    const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
    auto unit = [](torch::Tensor k) { return k / k.norm(2, -1, true); };
    const auto hay_k = unit(torch::randn({o.trials, H, dk}, f64)), hay_v = torch::randn({o.trials, H, o.value_dim}, f64);
    // The needle's key: a random direction less its projection on the haystack keys' span.
    const auto basis = std::get<0>(torch::linalg_qr(hay_k.transpose(1, 2)));  // [trials, dk, H]
    auto r = torch::randn({o.trials, dk, 1}, f64);
    const auto needle_k = unit((r - torch::bmm(basis, torch::bmm(basis.transpose(1, 2), r))).transpose(1, 2));
    const auto needle_v = torch::randn({o.trials, 1, o.value_dim}, f64);
    const auto picks = torch::randint(H, {o.trials, longest}, torch::kLong).unsqueeze(-1);
    const auto stream_k = torch::gather(hay_k, 1, picks.expand({o.trials, longest, dk}));
    const auto stream_v = torch::gather(hay_v, 1, picks.expand({o.trials, longest, o.value_dim}));
    const double value_norm = needle_v.norm(2, -1).mean().item<double>();
    // block 1: one step per token (mode P, c = 1); block 8: one step per 8 tokens on their summed
    // gradient (mode B, u = c = 8, as ATLAS trains), whose rank Newton–Schulz also equalises.
    struct Rule { std::string name; InnerOptimizer optimizer; double theta; int64_t block; };
    const std::vector<Rule> rules{{"GD", InnerOptimizer::kGd, 0.0, 1},
                                  {"Muon θ = 0", InnerOptimizer::kMuon, 0.0, 1},
                                  {"Muon θ = 0.9", InnerOptimizer::kMuon, 0.9, 1},
                                  {"GD, blocks of 8", InnerOptimizer::kGd, 0.0, 8},
                                  {"Muon θ = 0, blocks of 8", InnerOptimizer::kMuon, 0.0, 8}};
    for (const MemoryKind kind : {MemoryKind::kLinear, MemoryKind::kMlp}) {
      InnerMemoryConfig nc;
      nc.kind = kind;
      nc.input_dim = dk;
      nc.output_dim = o.value_dim;
      nc.hidden = 2 * dk;  // as in the ATLAS model (memory_expansion 2)
      InnerMemory mem(nc);
      FastWeights m0;  // linear: empty; MLP: Xavier-uniform, as the model initialises M0
      for (const auto& [rows_, cols] : mem.shapes()) {
        const double bound = kind == MemoryKind::kLinear ? 0.0 : std::sqrt(6.0 / static_cast<double>(rows_ + cols));
        m0.push_back(torch::empty({rows_, cols}, f64).uniform_(-bound, bound));
      }
      for (const auto& rule : rules) {
        InnerLoopConfig lc;
        lc.optimizer = rule.optimizer;
        lc.mode = rule.block == 1 ? InnerMode::kPerToken : InnerMode::kBlock;
        lc.window = rule.block;
        lc.chunk = rule.block;
        lc.ns_steps = 3;  // as in the ATLAS model
        // Step sizes as multiples of a one-step exact write to a linear memory (‖k‖ = 1): η = 1/2 for
        // GD on ‖Mk − v‖²; ‖v‖ for Muon, whose step has about unit spectral norm.
        const double exact = rule.optimizer == InnerOptimizer::kGd ? 0.5 : value_norm;
        for (double scale : o.needle_step_scales) {
          const double eta = scale * exact;
          auto state = initial_inner_state(mem, m0, o.trials);
          auto write = [&](const torch::Tensor& k, const torch::Tensor& v) {
            run_inner_loop(mem, lc, fixed_gate_inputs(k, v, eta, rule.theta), state);
            return relative_error(mem.read(state.weights, {needle_k, {}, {}, {}}), needle_v);
          };
          std::vector<double> errors{write(needle_k, needle_v)};
          int64_t done = 0;
          for (int64_t n : o.haystack_lengths) {
            errors.push_back(write(stream_k.narrow(1, done, n - done), stream_v.narrow(1, done, n - done)));
            done = n;
          }
          const double hay_error = relative_error(mem.read(state.weights, {hay_k, {}, {}, {}}), hay_v);
          const std::string name = name_of(kind) + " memory, " + rule.name;
          std::string note = "0: " + fmt(errors[0]);
          nlohmann::json curve = nlohmann::json::array({{{"haystack", 0}, {"relative_error", errors[0]}}});
          PlotSeries s;
          s.label = name;
          s.style = kind == MemoryKind::kLinear ? "s--" : "o-";
          for (size_t i = 0; i < o.haystack_lengths.size(); ++i) {
            s.x.push_back(static_cast<double>(o.haystack_lengths[i]));
            s.y.push_back(std::max(errors[i + 1], 1e-16));
            curve.push_back({{"haystack", o.haystack_lengths[i]}, {"relative_error", errors[i + 1]}});
            note += " | " + std::to_string(o.haystack_lengths[i]) + ": " + fmt(errors[i + 1]);
          }
          results["needle"][name_of(kind)][rule.name][fmt(scale)] = {{"eta", eta}, {"haystack_error", hay_error}, {"curve", curve}};
          const bool middle = scale == o.needle_step_scales[o.needle_step_scales.size() / 2];
          if (middle) needle.series.push_back(s);
          if (!o.brief || middle) rows.push_back({name, fmt(scale), fmt(hay_error), note});
        }
      }
    }
  }
  std::printf("\n(d) needle survival: a needle (key orthogonal to the haystack's), then %lld pairs repeated, written online (c = 1)\n",
              static_cast<long long>(o.haystack_pairs));
  print_table(rows, {"memory, rule", "η / exact", "haystack error at the end", "needle error after N haystack tokens"});

  // (e) the inner optimisers on the global objective (spec E1(b), claim C4: Muon fits faster than
  // GD): a linear memory on φ_2 fitted to N pairs by full-batch steps, each optimiser at the step
  // size from a wide grid that ends lowest.
  rows.clear();
  PlotSpec optimisers = error_plot(o.out + "/optimisers.png", "fitting N = dim φ_2 pairs: each optimiser at its best step size",
                                   "full-batch steps", "relative recall error");
  optimisers.logx = true;
  if (o.fit_steps > 0) {
    std::vector<int64_t> at;
    for (int64_t t : {1, 3, 10, 30, 100, 300, 1000})
      if (t < o.fit_steps) at.push_back(t);
    at.push_back(o.fit_steps);
    struct Optimiser { std::string name; InnerOptimizer kind; int64_t ns_steps; };
    const std::vector<Optimiser> kinds{{"GD", InnerOptimizer::kGd, 0},
                                       {"momentum", InnerOptimizer::kMomentum, 0},
                                       {"Muon k = 1", InnerOptimizer::kMuon, 1},
                                       {"Muon k = 3", InnerOptimizer::kMuon, 3},
                                       {"Muon k = 5", InnerOptimizer::kMuon, 5}};
    for (double f : {0.5, 1.0, 2.0}) {
      const int64_t n = std::llround(f * static_cast<double>(D));
      auto [keys, values] = draw(n);
      const auto x = phi.forward(keys);
      for (const auto& k : kinds) {
        std::vector<double> best;
        double best_eta = 0;
        for (int64_t e = -12; e <= 4; ++e) {  // η = 10^(e/2): 1e-6 … 100
          const double eta = std::pow(10.0, 0.5 * static_cast<double>(e));
          const auto errors = fit_by_optimiser(x, values, k.kind, k.ns_steps, eta, at);
          if (std::isfinite(errors.back()) && (best.empty() || errors.back() < best.back())) {
            best = errors;
            best_eta = eta;
          }
        }
        std::string note;
        nlohmann::json curve = nlohmann::json::array();
        PlotSeries series;
        series.label = k.name + " (η " + fmt(best_eta) + ")";
        series.style = "o-";
        for (size_t i = 0; i < best.size(); ++i) {
          note += (note.empty() ? "" : " | ") + std::to_string(at[i]) + ": " + fmt(best[i]);
          curve.push_back({{"steps", at[i]}, {"relative_error", best[i]}});
          series.x.push_back(static_cast<double>(at[i]));
          series.y.push_back(std::max(best[i], 1e-16));
        }
        results["optimisers"][std::to_string(n)][k.name] = {{"eta", best_eta}, {"curve", curve}};
        if (n == D) optimisers.series.push_back(series);
        rows.push_back({k.name, std::to_string(n), fmt(best_eta), note});
      }
    }
    std::printf("\n(e) the inner optimisers on the global objective: linear memory on φ_2 (dim %lld), full-batch, cosine-decayed η\n",
                static_cast<long long>(D));
    print_table(rows, {"optimiser", "pairs", "best η", "relative recall error after S steps"});
  }

  write_text_atomically(o.out + "/results.json", results.dump(1) + "\n");
  if (o.plots && plot_lines(fit) && plot_lines(stream) && plot_lines(needle) && (o.fit_steps == 0 || plot_lines(optimisers)))
    std::printf("plots: %s/{least-squares,streaming,needle%s}.png\n", o.out.c_str(), o.fit_steps > 0 ? ",optimisers" : "");
  return results;
}

}  // namespace engram

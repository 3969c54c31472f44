#include "engram/ki/ki_training.h"

#include <algorithm>
#include <filesystem>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "engram/core/atomic_file.h"
#include "engram/core/error.h"
#include "engram/core/finite.h"
#include "engram/core/json.h"
#include "engram/fast/bin_tokenizer.h"
#include "engram/fast/fast_tokenizer.h"
#include "engram/ki/flow_matching.h"
#include "engram/ki/ki_checkpoint.h"
#include "engram/ki/ki_eval.h"
#include "engram/ki/ki_policy.h"
#include "engram/policy/chunk_dataset.h"
#include "engram/tableworld/lm_corpus.h"
#include "engram/tableworld/prompt.h"
#include "engram/tableworld/scene.h"
#include "engram/train/checkpoint.h"

namespace engram::ki {

namespace fs = std::filesystem;

namespace {

torch::Generator generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

// The run directory of a fresh run must not hold one already; a resumed one must. Checked before
// anything else, created only once every input has been checked.
void check_run_dir(const KiRunOptions& o, const std::string& command) {
  const std::string ckpt = o.out + "/checkpoint.safetensors";
  if (o.resume && !fs::exists(ckpt)) throw Error("cannot resume: " + ckpt + " does not exist");
  if (!o.resume && fs::exists(ckpt))
    throw Error("run directory " + o.out + " already holds a run; use " + command + " --resume " + o.out + " to continue it, or choose another --out");
}

tableworld::CorpusOptions corpus_options(bool bridging) {
  tableworld::CorpusOptions c;
  c.bridging = bridging;
  return c;
}

KiModelConfig backbone_model(const PretrainConfig& p) {
  KiModelConfig m;
  m.vocab = tableworld::Vocabulary().size();
  m.width = p.width, m.ffn = p.ffn, m.depth = p.depth, m.heads = p.heads, m.head_dim = p.head_dim;
  m.expert = false;
  return m;
}

// The next-token CE of the FAST block: code k is predicted at the last valid prefix position
// (k = 0) or at F_{k−1}; per-example mean over the block's valid tokens, then the batch mean.
torch::Tensor fast_cross_entropy(const torch::Tensor& logits, const PrefixInput& prefix, const torch::Tensor& fast_ids,
                                 const torch::Tensor& fast_valid) {
  const int64_t B = fast_ids.size(0), F = fast_ids.size(1), P = prefix.ids.size(1), V = logits.size(2);
  const auto k = torch::arange(F).view({1, -1});
  const auto last_prefix = prefix.valid.to(torch::kLong).sum(1, true) - 1;
  const auto at = torch::where(k == 0, last_prefix, P + k - 1);  // [B, F]
  const auto picked = logits.gather(1, at.unsqueeze(-1).expand({B, F, V}));
  const auto nll = -torch::log_softmax(picked, -1).gather(-1, fast_ids.unsqueeze(-1)).squeeze(-1);
  const auto w = fast_valid.to(nll.dtype());
  return ((nll * w).sum(1) / w.sum(1).clamp_min(1)).mean();
}

torch::Tensor lm_loss(KiModel& model, const LanguageRows& rows) {
  const auto [nll, n] = language_nll(model.language_logits(rows.ids, rows.valid, rows.prefix_length), rows);
  return nll / static_cast<double>(std::max<int64_t>(1, n));
}

}  // namespace

TrainSummary pretrain_backbone(const PretrainConfig& given, const KiRunOptions& o) {
  check_run_dir(o, "engram ki pretrain");
  const PretrainConfig& c = given;
  fs::create_directories(o.out);
  const tableworld::Vocabulary vocabulary;
  const auto corpus = tableworld::generate_corpus(corpus_options(c.bridging));
  auto train_rows = std::make_shared<LanguageRows>(language_rows(corpus.train, vocabulary));
  auto held_out = std::make_shared<LanguageRows>(language_rows(corpus.held_out, vocabulary));
  torch::manual_seed(c.seed);
  const auto model_config = backbone_model(c);
  auto model = std::make_shared<KiModel>(model_config);

  TrainingJob job;
  for (const auto& p : model->named_parameters()) job.parameters.emplace_back(p.key(), p.value());
  job.weights = [model] { return module_tensors(*model); };
  job.load = [model](const SafeTensors& file) { load_ki_tensors(*model, file, ""); };
  job.loss = [model, train_rows, c](int64_t step, const Shard& shard) {
    if (shard.count > 1) throw Error("ki pretrain runs in one process");
    auto gen = generator(c.seed * 1000003ull + static_cast<uint64_t>(step));
    const auto rows = select_rows(*train_rows, torch::randint(train_rows->size(), {c.batch_size}, gen, torch::kLong));
    return TrainingJob::StepLoss{lm_loss(*model, rows), rows.valid.sum().item<int64_t>()};
  };
  job.evaluate = [model, held_out, vocabulary] {
    return nlohmann::json{{"val_loss", language_nll_of(*model, *held_out)}, {"fact_acc", fact_accuracy(*model, vocabulary)}};
  };
  const nlohmann::json config = {{"kind", "ki-backbone"}, {"model", write_config(model_config)}, {"pretrain", write_config(c)}};
  job.metadata = {{kKiConfigKey, config.dump()}};
  job.loss_name = "LM loss (nats/token)";
  job.resume_command = "engram ki pretrain --resume " + o.out;

  LoopConfig loop;
  loop.steps = c.steps;
  loop.lr = c.lr, loop.min_lr = c.min_lr, loop.warmup = c.warmup;
  loop.adam.weight_decay = c.weight_decay;
  loop.grad_clip = c.grad_clip;
  loop.eval_interval = c.eval_interval;
  loop.log_interval = c.log_interval;
  Trainer trainer(job, loop, o.out, o.verbose, "ki pretrain");
  if (o.resume) trainer.resume();
  if (!trainer.finished()) write_text_atomically(o.out + "/config.json", write_config(c).dump(2) + "\n");
  return trainer.run(o.stop_after);
}

TrainSummary train_recipe(const KiTrainConfig& given, const KiRunOptions& o) {
  check_run_dir(o, "engram ki train");
  if (given.data.empty()) throw Error("ki train: --data is required (engram sim demos --task tableworld)");
  if (given.backbone.empty()) throw Error("ki train: --backbone is required (a checkpoint of engram ki pretrain)");
  const auto backbone_file = load_safetensors(given.backbone);
  const auto backbone_config = read_ki_config(backbone_file, "ki-backbone");
  const KiTrainConfig& c = given;
  const RecipeFlags flags = flags_of(c.recipe);
  const tableworld::Vocabulary vocabulary;

  // Robot data: chunks of H actions from every step of every episode, episodes split train/held out.
  auto data = std::make_shared<ChunkDataset>(), valid = std::make_shared<ChunkDataset>();
  load_chunk_dataset(c.data, c.horizon, c.holdout_every, *data, *valid);
  if (data->env_args.value("type", std::string()) != "engram-tableworld" || data->obs.size(1) != tableworld::kObsDim ||
      data->chunks.size(2) != 3)
    throw Error("ki train: " + c.data + " is not a TableWorld dataset (" + std::to_string(data->obs.size(1)) + "-D observations, " +
                std::to_string(data->chunks.size(2)) + "-D actions; TableWorld has " + std::to_string(tableworld::kObsDim) + " and 3)");
  // The action tokenizer (FAST, or R8's bins): given, the run's own (resume), or fitted on the
  // training chunks. The run keeps it as fast.json or bins.json.
  const std::string bins_path = o.out + "/bins.json", fast_path = o.out + "/fast.json";
  const std::string source = !c.fast.empty() ? c.fast : o.resume && fs::exists(bins_path) ? bins_path : fast_path;
  const std::shared_ptr<const ActionTokenizer> fast = [&]() -> std::shared_ptr<const ActionTokenizer> {
    if (!c.fast.empty() || o.resume) return load_action_tokenizer(source);
    const auto chunks = data->chunks.to(torch::kFloat64).contiguous();
    const std::vector<double> values(chunks.data_ptr<double>(), chunks.data_ptr<double>() + chunks.numel());
    if (flags.naive_tokens) return std::make_shared<BinTokenizer>(BinTokenizer::fit(values, c.horizon, 3, c.bins));
    return std::make_shared<FastTokenizer>(FastTokenizer::fit(values, c.horizon, 3, c.fast_gamma, c.fast_vocab));
  }();
  if (fast->horizon() != c.horizon || fast->dims() != 3)
    throw Error("ki train: the action tokenizer is for " + std::to_string(fast->horizon()) + " × " + std::to_string(fast->dims()) +
                " chunks, this run uses " + std::to_string(c.horizon) + " × 3");
  const bool bins = dynamic_cast<const BinTokenizer*>(fast.get()) != nullptr;
  if (flags.fast_ce && flags.naive_tokens != bins)
    throw Error("ki train: recipe " + name_of(c.recipe) + " learns " + (flags.naive_tokens ? "bin" : "FAST") + " tokens, but " +
                source + " holds " + (bins ? "bin" : "FAST") + " tokens");
  if (fast->vocab_size() > tableworld::Vocabulary::kFastIds)
    throw Error("ki train: the action tokenizer has " + std::to_string(fast->vocab_size()) + " ids; the vocabulary reserves " +
                std::to_string(tableworld::Vocabulary::kFastIds));
  fs::create_directories(o.out);
  if (!o.resume) fast->save(bins ? bins_path : fast_path);

  // Language data of the corpus stage 0 was trained on (its held-out NLL is the reference).
  const bool bridging = backbone_config["pretrain"].value("bridging", false);
  const auto corpus = tableworld::generate_corpus(corpus_options(bridging));
  auto lm_train = std::make_shared<LanguageRows>(language_rows(corpus.train, vocabulary));
  auto lm_held_out = std::make_shared<LanguageRows>(language_rows(corpus.held_out, vocabulary));

  KiModelConfig model_config = read_config<KiModelConfig>(backbone_config["model"], "backbone model");
  model_config.expert = flags.flow;
  model_config.shared_weights = flags.shared_weights;
  model_config.expert_width = c.expert_width, model_config.expert_ffn = c.expert_ffn;
  model_config.horizon = c.horizon, model_config.action_dim = 3;
  torch::manual_seed(c.seed);
  auto model = std::make_shared<KiModel>(model_config);
  load_ki_tensors(*model, backbone_file, "backbone");
  // The EMA copy of every parameter, and the stage-0 backbone it drifts from.
  auto ema = std::make_shared<std::vector<torch::Tensor>>();
  for (const auto& p : model->parameters()) ema->push_back(p.detach().clone());
  std::vector<torch::Tensor> backbone0;
  for (const auto& p : model->backbone_parameters()) backbone0.push_back(p.detach().clone());
  const double reference_nll = language_nll_of(*model, *lm_held_out);

  TrainingJob job;
  for (const auto& p : model->named_parameters()) {
    const bool backbone = p.key().rfind("backbone", 0) == 0;
    if (backbone && !flags.train_backbone) continue;
    job.parameters.emplace_back(p.key(), p.value());
    job.clip_group.push_back(backbone ? 0 : 1);
    job.lr_scale.push_back(backbone ? c.backbone_lr_scale : 1.0);
  }
  job.clip_group_names = {"backbone", "expert"};
  job.weights = [model, ema] {
    auto t = module_tensors(*model);
    const auto named = model->named_parameters();
    for (size_t i = 0; i < named.size(); ++i) t.emplace_back("ema." + named[i].key(), (*ema)[i]);
    return t;
  };
  job.load = [model, ema](const SafeTensors& file) {
    load_ki_tensors(*model, file, "");
    torch::NoGradGuard no_grad;
    const auto named = model->named_parameters();
    for (size_t i = 0; i < named.size(); ++i) {
      const std::string name = "ema." + named[i].key();
      if (!file.contains(name)) throw Error(file.source + ": tensor '" + name + "' is missing");
      (*ema)[i].copy_(file.at(name));
    }
  };
  // Window means of the loss parts, and gradient diagnostics, reported at evaluations.
  struct Parts {
    double fast = 0, lm = 0, flow = 0;
    int64_t steps = 0;
    nlohmann::json diagnostics = nlohmann::json::object();
  };
  auto parts = std::make_shared<Parts>();
  job.loss = [=](int64_t step, const Shard& shard) {
    if (shard.count > 1) throw Error("ki train runs in one process");
    auto gen = generator(c.seed * 1000003ull + static_cast<uint64_t>(step));
    const auto idx = torch::randint(data->obs.size(0), {c.robot_batch}, gen, torch::kLong);
    const auto obs = data->obs.index_select(0, idx), chunks = data->chunks.index_select(0, idx);
    const auto prefix = tableworld::prompt_prefix(obs, vocabulary);
    torch::Tensor fast_ids = torch::zeros({c.robot_batch, 0}, torch::kLong), fast_valid = torch::zeros({c.robot_batch, 0}, torch::kBool);
    if (flags.fast_ce) {
      const auto raw = chunks.to(torch::kFloat64).contiguous();
      std::vector<std::vector<int64_t>> codes;
      size_t longest = 0;
      for (int64_t b = 0; b < c.robot_batch; ++b) {
        codes.push_back(fast->encode(raw.data_ptr<double>() + b * c.horizon * 3));
        longest = std::max(longest, codes.back().size());
      }
      std::tie(fast_ids, fast_valid) = tableworld::fast_block(codes, static_cast<int64_t>(longest) + 2, vocabulary);
    }
    torch::Tensor x, t, eps;
    if (flags.flow) {
      eps = torch::randn(chunks.sizes(), gen, torch::kFloat32);
      t = sample_flow_time(c.robot_batch, gen);
      const auto tt = t.view({-1, 1, 1});
      x = tt * eps + (1 - tt) * chunks;
    }
    ForwardOptions fo;
    fo.stop_gradient = flags.stop_gradient;
    fo.action_sees_fast = flags.action_sees_fast;
    const auto out = model->forward(prefix, fast_ids, fast_valid, x, t, fo);
    auto loss = torch::zeros({});
    torch::Tensor ce, flow;
    if (flags.fast_ce) {
      ce = fast_cross_entropy(out.logits, prefix, fast_ids, fast_valid);
      parts->fast += ce.item<double>();
      loss = loss + ce;
    }
    if (flags.flow) {
      flow = (out.velocity - (eps - chunks)).pow(2).mean();
      parts->flow += flow.item<double>();
      loss = loss + c.alpha * flow;
    }
    // KI spec §8.5 (b): how large the flow loss's gradient into the backbone is against the FAST
    // cross-entropy's, and their cosine, at the diagnostic steps (exactly 0 with the stop-gradient;
    // 0 at step 0 wherever the expert's zero-initialised gates pass no gradient, all recipes but R10).
    const auto& ds = c.diagnostic_steps;
    if (std::find(ds.begin(), ds.end(), step) != ds.end() && flags.flow && flags.train_backbone) {
      const auto backbone = model->backbone_parameters();
      auto flat = [&](const torch::Tensor& l) {
        const auto g = torch::autograd::grad({l}, backbone, {}, /*retain_graph=*/true, false, /*allow_unused=*/true);
        std::vector<torch::Tensor> parts_of;
        for (size_t i = 0; i < g.size(); ++i) parts_of.push_back(g[i].defined() ? g[i].flatten() : torch::zeros({backbone[i].numel()}));
        return torch::cat(parts_of);
      };
      const auto gf = flat(c.alpha * flow);
      const std::string at = std::to_string(step);
      parts->diagnostics["flow_grad_norm_backbone_" + at] = gf.norm().item<double>();
      if (flags.fast_ce) {
        const auto gc = flat(ce);
        parts->diagnostics["ce_grad_norm_backbone_" + at] = gc.norm().item<double>();
        parts->diagnostics["flow_ce_grad_cosine_" + at] = (torch::dot(gf, gc) / (gf.norm() * gc.norm()).clamp_min(1e-30)).item<double>();
      }
    }
    if (flags.cotrain && c.lm_batch > 0) {
      const auto rows = select_rows(*lm_train, torch::randint(lm_train->size(), {c.lm_batch}, gen, torch::kLong));
      const auto lm = lm_loss(*model, rows);
      parts->lm += lm.item<double>();
      loss = loss + lm;
    }
    ++parts->steps;
    return TrainingJob::StepLoss{loss, c.robot_batch};
  };
  job.after_step = [model, ema, decay = c.ema](int64_t done, const Trainer&) {
    torch::NoGradGuard no_grad;
    const double d = std::min(decay, (1.0 + static_cast<double>(done)) / (10.0 + static_cast<double>(done)));
    const auto params = model->parameters();
    for (size_t i = 0; i < params.size(); ++i) (*ema)[i].mul_(d).add_(params[i].detach(), 1 - d);
  };
  job.evaluate = [=] {
    torch::NoGradGuard no_grad;
    // How far the training backbone has moved from stage 0's, relative to its size (§8.5 (b)).
    double moved = 0, size = 0;
    const auto backbone_now = model->backbone_parameters();
    for (size_t i = 0; i < backbone_now.size(); ++i) {
      moved += (backbone_now[i] - backbone0[i]).pow(2).sum().item<double>();
      size += backbone0[i].pow(2).sum().item<double>();
    }
    const double drift = std::sqrt(moved / size);
    // Evaluate the EMA weights, then put the training weights back.
    const auto params = model->parameters();
    std::vector<torch::Tensor> live;
    for (size_t i = 0; i < params.size(); ++i) live.push_back(params[i].detach().clone()), params[i].detach().copy_((*ema)[i]);
    nlohmann::json r;
    const int64_t n = std::max<int64_t>(1, parts->steps);
    if (flags.fast_ce) r["train_fast_ce"] = parts->fast / n;
    if (flags.flow) r["train_flow"] = parts->flow / n;
    if (flags.cotrain) r["train_lm"] = parts->lm / n;
    r.update(parts->diagnostics);
    *parts = Parts{};
    r["backbone_drift"] = drift;
    ChunkSource chunks;
    int64_t failures = 0, decodes = 0;
    std::shared_ptr<KiPolicy> policy;
    if (flags.flow) {
      policy = std::make_shared<KiPolicy>(model);
      chunks = flow_chunks(policy, c.flow_steps, c.seed);
    } else {
      chunks = [&](const torch::Tensor& obs, int64_t) {
        decodes += obs.size(0);
        return decode_fast_chunks(*model, *fast, vocabulary, obs, 46, &failures);
      };
    }
    r.update(split_rates(chunks, c.eval_episodes, static_cast<int>(c.shift)));
    // Decoded-action MSE on fixed held-out chunks.
    const int64_t m = std::min<int64_t>(c.eval_chunks, valid->obs.size(0));
    if (m > 0) {
      const auto stride = std::max<int64_t>(1, valid->obs.size(0) / m);
      const auto idx = torch::arange(0, m * stride, stride).clamp_max(valid->obs.size(0) - 1);
      const auto obs = valid->obs.index_select(0, idx), truth = valid->chunks.index_select(0, idx);
      torch::Tensor predicted;
      for (int64_t first = 0; first < m; first += 256) {
        const auto part = chunks(obs.slice(0, first, std::min(m, first + 256)), 1000 + first);
        predicted = predicted.defined() ? torch::cat({predicted, part}) : part;
      }
      r["action_mse"] = (predicted - truth).pow(2).mean().item<double>();
      r["val_loss"] = r["action_mse"];
    }
    if (!flags.flow) r["decode_failure_rate"] = decodes ? static_cast<double>(failures) / static_cast<double>(decodes) : 0.0;
    const double nll = language_nll_of(*model, *lm_held_out);
    r["lm_nll"] = nll;
    r["delta_nll"] = nll - reference_nll;
    r["fact_acc"] = fact_accuracy(*model, vocabulary);
    for (size_t i = 0; i < params.size(); ++i) params[i].detach().copy_(live[i]);
    return r;
  };
  nlohmann::json config = {{"kind", "ki-policy"}, {"model", write_config(model_config)}, {"train", write_config(c)},
                           {"env", data->env_args}, {"fast", fast->to_json()}, {"reference_nll", reference_nll}};
  config["model"]["type"] = "ki";
  job.metadata = {{kKiConfigKey, config.dump()}, {"engram.policy_config", config.dump()}};
  job.items = "samples";
  job.loss_name = "training loss (CE + α·flow)";
  job.resume_command = "engram ki train --resume " + o.out;

  LoopConfig loop;
  loop.steps = c.steps;
  loop.lr = c.lr, loop.min_lr = c.min_lr, loop.warmup = c.warmup;
  loop.adam.beta1 = 0.9, loop.adam.beta2 = 0.95, loop.adam.eps = 1e-8;
  loop.adam.weight_decay = c.weight_decay;
  loop.grad_clip = c.grad_clip;
  loop.eval_interval = c.eval_interval;
  loop.log_interval = c.log_interval;
  Trainer trainer(job, loop, o.out, o.verbose, "ki " + name_of(c.recipe));
  if (o.resume) trainer.resume();
  if (!trainer.finished()) write_text_atomically(o.out + "/config.json", write_config(c).dump(2) + "\n");
  return trainer.run(o.stop_after);
}

}  // namespace engram::ki

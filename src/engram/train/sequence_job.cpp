#include "engram/train/sequence_job.h"

#include <torch/torch.h>

#include "engram/core/config.h"
#include "engram/core/error.h"
#include "engram/kernels/cross_entropy.h"
#include "engram/tasks/task.h"

namespace engram {

TrainConfig TrainConfig::from_json(const nlohmann::json& j, const std::string& where) {
  ConfigReader c(j, where);
  TrainConfig t;
  t.fields(c);
  c.finish();
  if (t.min_lr > t.lr) throw Error("config " + c.path("min_lr") + " must not exceed " + c.path("lr"));
  return t;
}

nlohmann::json TrainConfig::to_json() const { return write_config(*this); }

LoopConfig TrainConfig::loop() const {
  LoopConfig l;
  l.steps = steps;
  l.lr = lr;
  l.min_lr = min_lr;
  l.warmup = warmup;
  l.schedule = Schedule::kCosine;
  l.adam = AdamWConfig{beta1, beta2, 1e-8, weight_decay};
  l.grad_clip = grad_clip;
  l.eval_interval = eval_interval;
  l.log_interval = log_interval;
  l.stop_accuracy = stop_accuracy;
  return l;
}

torch::Tensor sequence_loss(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& mask) {
  const int64_t V = logits.size(-1);
  auto ce = cross_entropy_rows(logits.reshape({-1, V}), targets.reshape({-1}));
  if (!mask.defined()) return ce.mean();
  auto m = mask.reshape({-1}).to(ce.dtype());
  return (ce * m).sum() / m.sum().clamp_min(1.0);
}

torch::Tensor sequence_loss(SequenceModel& model, const torch::Tensor& inputs, const torch::Tensor& targets,
                            const torch::Tensor& mask) {
  const auto h = model.hidden(model.embed(inputs));
  const OutputHead head = model.head();
  return linear_cross_entropy(h.reshape({-1, h.size(-1)}), head.weight, head.scale, targets.reshape({-1}),
                              mask.defined() ? mask.reshape({-1}) : mask);
}

TrainingJob sequence_job(std::shared_ptr<SequenceModel> model, const TrainConfig& config, BatchStream data,
                         const CheckpointContents& meta) {
  TrainingJob job;
  for (const auto& p : model->named_parameters()) job.parameters.emplace_back(p.key(), p.value());
  job.weights = [model] { return module_tensors(*model); };
  job.load = [model](const SafeTensors& file) { load_weights(*model, file); };
  job.loss = [model, data](int64_t step, const Shard& shard) {
    const Batch whole = data.train(step);
    const auto rows = [&](const torch::Tensor& t) { return t.defined() ? shard.rows(t) : t; };
    const Batch b{rows(whole.inputs), rows(whole.targets), rows(whole.mask), rows(whole.score_mask)};
    // The loss is a mean over the scored targets, so a shard weighs as many as it scores.
    const double weight = b.mask.defined() ? b.mask.sum().item<double>() : static_cast<double>(b.inputs.numel());
    return TrainingJob::StepLoss{sequence_loss(*model, b.inputs, b.targets, b.mask), b.inputs.numel(), weight};
  };
  job.evaluate = [model, data, batches = config.eval_batches] {
    torch::NoGradGuard no_grad;
    model->eval();
    double loss = 0, accuracy = 0;
    for (int64_t k = 0; k < batches; ++k) {
      Batch b = data.valid(k);
      auto logits = model->forward(b.inputs);
      loss += sequence_loss(logits, b.targets, b.mask).item<double>();
      accuracy += masked_accuracy(logits, b);
    }
    const double n = static_cast<double>(batches);
    nlohmann::json row = {{"val_loss", loss / n}};
    if (std::isfinite(accuracy)) row["val_accuracy"] = accuracy / n;
    return row;
  };
  job.set_training = [model](bool on) { model->train(on); };
  job.metadata = checkpoint_metadata(*model, meta);
  job.loss_name = "cross-entropy (nats/token)";
  return job;
}

}  // namespace engram

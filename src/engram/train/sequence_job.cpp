#include "engram/train/sequence_job.h"

#include <torch/torch.h>

#include "engram/core/config.h"
#include "engram/core/error.h"
#include "engram/tasks/task.h"

namespace engram {

TrainConfig TrainConfig::from_json(const nlohmann::json& j, const std::string& where) {
  ConfigObject c(j, where);
  TrainConfig t;
  t.steps = c.integer("steps", t.steps, 1, int64_t{1} << 40);
  t.batch_size = c.integer("batch_size", t.batch_size, 1, 1 << 20);
  t.block_size = c.integer("block_size", t.block_size, 1, 1 << 24);
  t.lr = c.number("lr", t.lr, 0.0, 1e3);
  t.min_lr = c.number("min_lr", t.min_lr, 0.0, 1e3);
  t.warmup = c.integer("warmup", t.warmup, 0, int64_t{1} << 40);
  t.weight_decay = c.number("weight_decay", t.weight_decay, 0.0, 10.0);
  t.beta1 = c.number("beta1", t.beta1, 0.0, 0.999999);
  t.beta2 = c.number("beta2", t.beta2, 0.0, 0.999999);
  t.grad_clip = c.number("grad_clip", t.grad_clip, 0.0, 1e6);
  t.eval_interval = c.integer("eval_interval", t.eval_interval, 1, int64_t{1} << 40);
  t.stop_accuracy = c.number("stop_accuracy", t.stop_accuracy, 0.0, 1.0);
  t.eval_batches = c.integer("eval_batches", t.eval_batches, 1, 1 << 20);
  t.log_interval = c.integer("log_interval", t.log_interval, 1, int64_t{1} << 40);
  t.seed = c.integer("seed", t.seed, 0, std::numeric_limits<int64_t>::max());
  t.device = c.string("device", t.device);
  c.finish();
  if (t.min_lr > t.lr) throw Error("config " + c.path("min_lr") + " must not exceed " + c.path("lr"));
  return t;
}

nlohmann::json TrainConfig::to_json() const {
  return {{"steps", steps}, {"batch_size", batch_size}, {"block_size", block_size}, {"lr", lr},
          {"min_lr", min_lr}, {"warmup", warmup}, {"weight_decay", weight_decay}, {"beta1", beta1},
          {"beta2", beta2}, {"grad_clip", grad_clip}, {"eval_interval", eval_interval},
          {"stop_accuracy", stop_accuracy}, {"eval_batches", eval_batches}, {"log_interval", log_interval}, {"seed", seed}, {"device", device}};
}

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
  auto ce = torch::nn::functional::cross_entropy(
      logits.reshape({-1, V}), targets.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  if (!mask.defined()) return ce.mean();
  auto m = mask.reshape({-1}).to(ce.dtype());
  return (ce * m).sum() / m.sum().clamp_min(1.0);
}

TrainingJob sequence_job(std::shared_ptr<SequenceModel> model, const TrainConfig& config, BatchStream data,
                         const CheckpointContents& meta) {
  TrainingJob job;
  for (const auto& p : model->named_parameters()) job.parameters.emplace_back(p.key(), p.value());
  job.weights = [model] { return module_tensors(*model); };
  job.load = [model](const SafeTensors& file) { load_weights(*model, file); };
  job.loss = [model, data](int64_t step) {
    Batch b = data.train(step);
    return TrainingJob::StepLoss{sequence_loss(model->forward(b.inputs), b.targets, b.mask), b.inputs.numel()};
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

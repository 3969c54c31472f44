#include "engram/seq/lstm.h"

#include "engram/core/config.h"
#include "engram/core/error.h"

namespace engram {

LstmConfig LstmConfig::from_json(const nlohmann::json& j, const std::string& where) {
  ConfigReader c(j, where);
  LstmConfig m;
  m.fields(c);
  c.finish();
  return m;
}

nlohmann::json LstmConfig::to_json() const { return write_config(*this); }

namespace {
struct LstmState : DecodeState {
  std::tuple<torch::Tensor, torch::Tensor> hc;  // [n_layer, B, d] each
};
}  // namespace

Lstm::Lstm(const LstmConfig& config) : config_(config) {
  const auto& c = config_;
  wte_ = register_module("wte", torch::nn::Embedding(c.vocab_size, c.n_embd));
  lstm_ = register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(c.n_embd, c.n_embd)
                                                      .num_layers(c.n_layer)
                                                      .batch_first(true)
                                                      .dropout(c.n_layer > 1 ? c.dropout : 0.0)));
  torch::NoGradGuard no_grad;
  wte_->weight.normal_(0.0, 1.0 / std::sqrt(static_cast<double>(c.n_embd)));
}

torch::Tensor Lstm::embed(const torch::Tensor& tokens) {
  if (tokens.dim() != 2) throw Error("lstm: tokens must be [batch, time], got " + std::to_string(tokens.dim()) + " dims");
  return wte_(tokens);
}

torch::Tensor Lstm::hidden(const torch::Tensor& x) {
  return torch::dropout(std::get<0>(lstm_->forward(x)), config_.dropout, is_training());
}

// Tied to the embedding; the 1/√d keeps the initial logits O(1) with an N(0, 1/d) embedding.
OutputHead Lstm::head() const { return {wte_->weight, 1.0 / std::sqrt(static_cast<double>(config_.n_embd))}; }

std::unique_ptr<DecodeState> Lstm::init_state(int64_t batch) {
  auto s = std::make_unique<LstmState>();
  auto zeros = torch::zeros({config_.n_layer, batch, config_.n_embd}, wte_->weight.options());
  s->hc = {zeros, zeros.clone()};
  return s;
}

torch::Tensor Lstm::step(DecodeState& state, const torch::Tensor& token) {
  auto& s = dynamic_cast<LstmState&>(state);
  auto [out, hc] = lstm_->forward(wte_(token.view({-1, 1})), s.hc);
  s.hc = hc;
  ++s.position;
  return logits(out.squeeze(1));
}

ModelDescription Lstm::describe() const {
  const auto& c = config_;
  ModelDescription d;
  d.type = "lstm";
  d.parameters = count_parameters(const_cast<Lstm&>(*this));
  d.context = c.block_size;
  const double D = static_cast<double>(c.n_embd);
  d.flops_per_token = c.n_layer * 2 * 8 * D * D + 2 * D * c.vocab_size;  // four gates over [x, h]
  d.summary = "lstm " + std::to_string(c.n_layer) + "x" + std::to_string(c.n_embd);
  return d;
}

}  // namespace engram

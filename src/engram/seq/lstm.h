// LSTM language model: the recurrent baseline of the RegBench comparison (Memory Mosaics spec
// §6.3, §13.3). Token embedding → a stack of LibTorch LSTM layers → a tied output projection.
#pragma once

#include "engram/seq/model.h"

namespace engram {

struct LstmConfig {
  int64_t vocab_size = 50257;
  int64_t n_layer = 2;
  int64_t n_embd = 256;     // embedding and hidden width
  int64_t block_size = 256; // training context: only the FLOP count uses it
  double dropout = 0.0;     // between layers and before the head

  template <class F>
  void fields(F& f) {
    f.tag("type", "lstm");
    f.field("vocab_size", vocab_size, 2, 1 << 24);
    f.field("n_layer", n_layer, 1, 64);
    f.field("n_embd", n_embd, 1, 1 << 16);
    f.field("block_size", block_size, 1, 1 << 24);
    f.field("dropout", dropout, 0.0, 0.95);
  }

  static LstmConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

class Lstm : public SequenceModel {
 public:
  explicit Lstm(const LstmConfig& config);

  torch::Tensor embed(const torch::Tensor& tokens) override;
  torch::Tensor hidden(const torch::Tensor& x) override;
  OutputHead head() const override;
  std::unique_ptr<DecodeState> init_state(int64_t batch) override;
  torch::Tensor step(DecodeState& state, const torch::Tensor& token) override;
  ModelDescription describe() const override;
  nlohmann::json config() const override { return config_.to_json(); }
  int64_t vocab_size() const override { return config_.vocab_size; }
  int64_t max_context() const override { return -1; }

 private:
  LstmConfig config_;
  torch::nn::Embedding wte_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
};

}  // namespace engram

// Tokenizers: encode, decode, train.
#include <climits>
#include <cstdio>
#include <memory>
#include <sstream>

#include "cli_checks.h"
#include "commands.h"
#include "engram/data/bpe_trainer.h"
#include "engram/data/id_text.h"
#include "engram/train/checkpoint.h"

namespace engram::cli {

void add_tokenize_commands(CLI::App& app, Commands& commands) {
  struct Args {
    std::string tokenizer = "gpt2", input, out;
    bool by_line = false;
    int vocab_size = 4096;
  };
  auto a = std::make_shared<Args>();
  auto* tokenize = app.add_subcommand("tokenize", "byte-level BPE: encode, decode, train");
  tokenize->require_subcommand(1);

  auto* encode = tokenize->add_subcommand("encode", "text (file or stdin) -> ids on stdout");
  encode->add_option("--tokenizer", a->tokenizer, "gpt2, a tokenizer .json, or a checkpoint");
  encode->add_option("input", a->input, "text file (default: stdin)");
  encode->add_flag("--lines", a->by_line, "encode each line on its own; one line of ids per line (the eval --tokens format)");
  commands.on(encode, [a] {
    Tokenizer tok = open_tokenizer(a->tokenizer);
    const std::string text = read_input(a->input);
    if (a->by_line) {
      std::istringstream in(text);
      for (std::string line; std::getline(in, line);) std::printf("%s\n", format_ids(tok.encode(line)).c_str());
    } else {
      std::printf("%s\n", format_ids(tok.encode(text)).c_str());
    }
    return 0;
  });

  auto* decode = tokenize->add_subcommand("decode", "ids (file or stdin) -> text on stdout");
  decode->add_option("--tokenizer", a->tokenizer, "gpt2, a tokenizer .json, or a checkpoint");
  decode->add_option("input", a->input, "file of whitespace-separated ids (default: stdin)");
  commands.on(decode, [a] {
    Tokenizer tok = open_tokenizer(a->tokenizer);
    std::vector<int> ids;
    for (const auto& line : parse_id_lines(read_input(a->input), a->input.empty() ? "stdin" : a->input))
      for (auto id : line) ids.push_back(static_cast<int>(std::min<int64_t>(id, INT32_MAX)));
    const std::string text = tok.decode(ids);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  });

  auto* train = tokenize->add_subcommand("train", "train a byte-level BPE (GPT-2 pre-tokenisation) on a text file");
  train->add_option("input", a->input, "training text")->required();
  train->add_option("--vocab-size", a->vocab_size, "vocabulary size including 256 bytes and <|endoftext|>")
      ->check(between(257, 1 << 20));
  train->add_option("--out", a->out, "tokenizer file to write (.json)")->required();
  commands.on(train, [a] {
    auto result = train_bpe_file(a->input, a->vocab_size, {"<|endoftext|>"});
    to_tokenizer(result).save(a->out);
    std::printf("trained %zu merges; vocabulary %zu tokens; wrote %s\n", result.merges.size(), result.vocab.size(), a->out.c_str());
    return 0;
  });
}

}  // namespace engram::cli

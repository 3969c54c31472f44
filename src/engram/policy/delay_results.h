// The results file of `engram policy eval --json` and `engram policy run --json`: one JSON object
// per line. This is the one writer and the one reader of its rows; the plots and the experiment
// scripts read it through here (or through `engram policy plot`), not by grepping.
//
// A delay-evaluation row: ckpt, task, method, delay, shift, episodes, successes, solve_rate,
// wilson_low, wilson_high, seed, seconds, policy_calls; bid_samples and bid_contrast for BID,
// te_decay for temporal ensembling.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "engram/policy/delay_harness.h"
#include "engram/policy/delay_plots.h"
#include "engram/policy/realtime_runner.h"

namespace engram {

nlohmann::json delay_result_row(const std::string& ckpt, const DelayEvalOptions& options, const DelayEvalResult& result);

// The cell a row fills (its method named with non-default BID/TE settings, e.g. "bid K=0 N=8");
// throws engram::Error naming `where` when the row is not a delay-evaluation row.
DelayCell delay_cell(const nlohmann::json& row, const std::string& where);

// Whether the results file at `path` already holds the row these settings would write (same
// checkpoint, task, method with its BID/TE settings, delay, shift, episodes and seed): how
// experiment scripts resume (`policy eval --skip-done`). A missing file holds nothing.
bool has_delay_result(const std::string& path, const std::string& ckpt, const DelayEvalOptions& options);

nlohmann::json realtime_result_row(const std::string& ckpt, const RealtimeOptions& options, const RealtimeReport& report);

}  // namespace engram

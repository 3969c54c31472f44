#include "engram/policy/delay_results.h"

#include "engram/core/error.h"
#include "engram/core/metrics.h"

namespace engram {

nlohmann::json delay_result_row(const std::string& ckpt, const DelayEvalOptions& o, const DelayEvalResult& r) {
  nlohmann::json row{{"ckpt", ckpt},
                     {"task", o.task},
                     {"method", name_of(o.method)},
                     {"delay", o.delay},
                     {"shift", o.shift},
                     {"episodes", r.episodes},
                     {"successes", r.successes},
                     {"solve_rate", r.solve_rate()},
                     {"wilson_low", r.wilson_low},
                     {"wilson_high", r.wilson_high},
                     {"seed", o.seed},
                     {"seconds", r.seconds},
                     {"policy_calls", r.policy_calls}};
  if (o.method == ChunkMethod::kBid) row.update({{"bid_samples", o.bid_samples}, {"bid_contrast", o.bid_contrast}});
  if (o.method == ChunkMethod::kTe) row["te_decay"] = o.te_decay;
  return row;
}

DelayCell delay_cell(const nlohmann::json& r, const std::string& where) {
  for (const char* key : {"method", "delay", "shift", "successes", "episodes"})
    if (!r.contains(key)) throw Error(where + " is not a policy eval result (it lacks '" + key + "')");
  DelayCell c;
  try {
    c.method = r["method"].get<std::string>();
    // Non-default settings make a different method, not a re-run of the same cell.
    if (c.method == "bid" && (r.value("bid_contrast", 3) != 3 || r.value("bid_samples", 8) != 8))
      c.method += " K=" + std::to_string(r.value("bid_contrast", 3)) + " N=" + std::to_string(r.value("bid_samples", 8));
    if (c.method == "te" && r.value("te_decay", 0.0) != 0.0) c.method += " m=" + r["te_decay"].dump();
    c.delay = r["delay"].get<int>();
    c.shift = r["shift"].get<int>();
    c.successes = r["successes"].get<int64_t>();
    c.episodes = r["episodes"].get<int64_t>();
  } catch (const nlohmann::json::exception&) {
    throw Error(where + " is not a policy eval result (a field has the wrong type)");
  }
  c.tasks = 1;
  return c;
}

bool has_delay_result(const std::string& path, const std::string& ckpt, const DelayEvalOptions& o) {
  DelayEvalResult planned;
  planned.episodes = o.episodes;  // a row records the episodes that ran
  const nlohmann::json wanted = delay_result_row(ckpt, o, planned);
  for (const auto& row : read_metrics(path)) {
    bool same = true;
    for (const char* key : {"ckpt", "task", "method", "delay", "shift", "episodes", "seed", "bid_samples", "bid_contrast", "te_decay"})
      same = same && row.value(key, nlohmann::json()) == wanted.value(key, nlohmann::json());
    if (same) return true;
  }
  return false;
}

nlohmann::json realtime_result_row(const std::string& ckpt, const RealtimeOptions& o, const RealtimeReport& r) {
  return {{"ckpt", ckpt},
          {"task", o.task},
          {"method", name_of(o.method)},
          {"hz", o.hz},
          {"latency_ms", o.latency_ms},
          {"min_shift", o.min_shift},
          {"episodes", r.episodes},
          {"successes", r.successes},
          {"ticks", r.ticks},
          {"underruns", r.underruns},
          {"chunks", r.chunks},
          {"delay_histogram", r.delay_histogram},
          {"inference_ms_mean", r.inference_ms_mean},
          {"inference_ms_max", r.inference_ms_max},
          {"late_ms_mean", r.late_ms_mean},
          {"late_ms_p99", r.late_ms_p99},
          {"late_ms_max", r.late_ms_max},
          {"seed", o.seed}};
}

}  // namespace engram

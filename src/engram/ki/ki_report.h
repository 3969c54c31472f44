// The small-scale dashboard of KI spec §8.7 from a folder of `engram ki train` runs (one folder per
// run, named anything; the recipe and seed are read from each run's config.json): per recipe the
// final success and follow rates per split, ΔNLL and FactAcc (mean ± sd over seeds), (a) the
// steps-to-threshold ratios, (b) the knowledge-preservation contrasts, and curves against the
// training step. Runs still in progress count with the evaluations they have.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace engram::ki {

// Prints the tables to stdout, writes the plots as <figures>/ki-*.png (none when `figures` is
// empty) and returns the numbers as JSON.
nlohmann::json ki_report(const std::string& runs, const std::string& figures);

}  // namespace engram::ki

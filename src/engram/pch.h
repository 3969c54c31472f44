// Precompiled header: the heavy, stable headers every engram translation unit may include.
// It only speeds up builds; each file still includes what it uses.
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#include <map>
#include <memory>

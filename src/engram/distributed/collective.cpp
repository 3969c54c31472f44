#include "engram/distributed/collective.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <glog/logging.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/torch.h>

#include "engram/core/error.h"

namespace engram {

// Gradient all-reduce during the backward pass, as PyTorch's DDP does it (its c10d::Reducer needs a
// header Debian's LibTorch does not ship, so this is the same idea, small): a post-hook on each
// parameter's gradient accumulator marks it ready; a bucket whose parameters are all ready is
// all-reduced asynchronously, buckets strictly in order so every rank issues the same sequence;
// after the backward pass the rest are launched and all are awaited.
struct Overlap {
  std::vector<torch::Tensor> params;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators;  // kept alive: they carry the hooks
  std::vector<std::vector<size_t>> buckets;                          // parameter indices, in arrival order
  std::vector<size_t> bucket_of;
  std::vector<size_t> pending;  // per bucket: parameters whose gradient has not arrived this step
  std::vector<torch::Tensor> flat;
  std::vector<c10::intrusive_ptr<c10d::Work>> work;
  size_t next = 0;  // the next bucket to launch
  bool armed = false;
};

struct Collective::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
  std::unique_ptr<Overlap> overlap;

  void launch(size_t b) {
    auto& o = *overlap;
    std::vector<torch::Tensor> parts;
    for (size_t i : o.buckets[b]) {
      const auto& g = o.params[i].grad();
      parts.push_back(g.defined() ? g.reshape({-1}) : torch::zeros({o.params[i].numel()}, o.params[i].options()));
    }
    o.flat[b] = torch::cat(parts);
    std::vector<torch::Tensor> tensors{o.flat[b]};
    o.work[b] = gloo->allreduce(tensors);
  }
  void ready(size_t index) {
    auto& o = *overlap;
    if (!o.armed) return;
    --o.pending[o.bucket_of[index]];
    while (o.next < o.buckets.size() && o.pending[o.next] == 0) launch(o.next++);
  }
};

namespace {
struct ReadyHook : torch::autograd::FunctionPostHook {
  ReadyHook(Collective::Group* group, size_t index) : group(group), index(index) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list&) override {
    group->ready(index);
    return outputs;
  }
  Collective::Group* group;
  size_t index;
};
}  // namespace

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// Runs a collective; a failure (a dead peer, a timeout) becomes one clear line.
template <class F>
void collective(const char* what, const WorldInfo& w, F&& f) {
  try {
    f();
  } catch (const c10::Error& e) {
    throw Error(std::string(what) + " failed on rank " + std::to_string(w.rank) + " of " + std::to_string(w.world_size) +
                " (another rank stopped or the network failed): " + first_line(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    throw Error(std::string(what) + " failed on rank " + std::to_string(w.rank) + " of " + std::to_string(w.world_size) +
                " (another rank stopped or the network failed): " + first_line(e.what()));
  }
}

bool loopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0; }

}  // namespace

Collective::Collective(const WorldInfo& world, std::chrono::seconds timeout) : world_(world), group_(std::make_unique<Group>()) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  // Under torchrun's static rendezvous the agent already serves the store at MASTER_PORT.
  const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
  // c10d logs each failed connection attempt through glog; the error below says it once.
  struct QuietLog {
    int was = FLAGS_minloglevel;
    QuietLog() { FLAGS_minloglevel = google::GLOG_FATAL; }
    ~QuietLog() { FLAGS_minloglevel = was; }
  } quiet;
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(world.master_port);
  options.isServer = world.rank == 0 && !(agent && std::string(agent) == "True");
  options.numWorkers = world.world_size;
  options.waitWorkers = false;
  options.timeout = ms;
  try {
    auto tcp = c10::make_intrusive<c10d::TCPStore>(world.master_addr, options);
    // Keys of an earlier attempt (torchrun restarts keep the agent's store) are not this one's.
    group_->store = c10::make_intrusive<c10d::PrefixStore>("engram/" + std::to_string(world.restart_count), tcp);
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(ms);
    const char* iface = std::getenv("GLOO_SOCKET_IFNAME");
    if (iface && *iface) gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(iface));
    else if (loopback(world.master_addr)) gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    group_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, world.rank, world.world_size, gloo_options);
  } catch (const std::exception& e) {
    const std::string why = dynamic_cast<const c10::Error*>(&e) ? dynamic_cast<const c10::Error&>(e).what_without_backtrace() : e.what();
    throw Error("rendezvous at " + world.master_addr + ":" + std::to_string(world.master_port) + " did not complete within " +
                std::to_string(timeout.count()) + " s (rank " + std::to_string(world.rank) + " of " +
                std::to_string(world.world_size) + "): are all ranks started with the same MASTER_ADDR and MASTER_PORT? (" +
                first_line(why) + ")");
  }
}

Collective::~Collective() = default;

void Collective::broadcast(const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flat{torch::cat([&] {
    std::vector<torch::Tensor> parts;
    for (const auto& t : tensors) parts.push_back(t.detach().reshape({-1}).to(torch::kFloat32));
    return parts;
  }())};
  collective("broadcast", world_, [&] { group_->gloo->broadcast(flat)->wait(); });
  int64_t at = 0;
  for (const auto& t : tensors) {
    t.copy_(flat[0].narrow(0, at, t.numel()).view(t.sizes()));
    at += t.numel();
  }
}

void Collective::average(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes) {
  torch::NoGradGuard no_grad;
  const auto start = std::chrono::steady_clock::now();
  size_t i = 0;
  while (i < tensors.size()) {
    std::vector<torch::Tensor> parts;
    int64_t bytes = 0;
    const size_t first = i;
    while (i < tensors.size() && (parts.empty() || bytes + tensors[i].nbytes() <= static_cast<size_t>(bucket_bytes))) {
      parts.push_back(tensors[i].reshape({-1}));
      bytes += static_cast<int64_t>(tensors[i].nbytes());
      ++i;
    }
    std::vector<torch::Tensor> flat{torch::cat(parts)};
    collective("gradient all-reduce", world_, [&] { group_->gloo->allreduce(flat)->wait(); });
    flat[0].div_(world_.world_size);
    int64_t at = 0;
    for (size_t k = first; k < i; ++k) {
      tensors[k].copy_(flat[0].narrow(0, at, tensors[k].numel()).view(tensors[k].sizes()));
      at += tensors[k].numel();
    }
    reduced_bytes_ += bytes;
  }
  reduce_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<double> Collective::sum(const std::vector<double>& values) {
  std::vector<torch::Tensor> t{torch::tensor(values, torch::kFloat64)};
  collective("all-reduce", world_, [&] { group_->gloo->allreduce(t)->wait(); });
  return std::vector<double>(t[0].data_ptr<double>(), t[0].data_ptr<double>() + t[0].numel());
}

void Collective::overlap_gradients(const std::vector<torch::Tensor>& params, int64_t bucket_bytes) {
  auto o = std::make_unique<Overlap>();
  o->params = params;
  o->bucket_of.resize(params.size());
  // Gradients arrive roughly in reverse order of the parameters; the first bucket is small so the
  // first all-reduce starts early (DDP's choice).
  int64_t bytes = 0, cap = std::min<int64_t>(bucket_bytes, 1 << 20);
  for (size_t k = params.size(); k-- > 0;) {
    const auto size = static_cast<int64_t>(params[k].nbytes());
    if (o->buckets.empty() || (bytes > 0 && bytes + size > cap)) {
      if (!o->buckets.empty()) cap = bucket_bytes;
      o->buckets.emplace_back();
      bytes = 0;
    }
    o->buckets.back().push_back(k);
    o->bucket_of[k] = o->buckets.size() - 1;
    bytes += size;
    overlapped_bytes_ += size;
  }
  for (size_t k = 0; k < params.size(); ++k) {
    auto accumulator = torch::autograd::impl::grad_accumulator(params[k]);
    accumulator->add_post_hook(std::make_unique<ReadyHook>(group_.get(), k));
    o->accumulators.push_back(std::move(accumulator));
  }
  group_->overlap = std::move(o);
}

void Collective::expect_backward(const torch::Tensor&) {
  auto& o = *group_->overlap;
  o.pending.assign(o.buckets.size(), 0);
  for (const auto& b : o.buckets) o.pending[&b - o.buckets.data()] = b.size();
  o.flat.assign(o.buckets.size(), torch::Tensor());
  o.work.assign(o.buckets.size(), c10::intrusive_ptr<c10d::Work>());
  o.next = 0;
  o.armed = true;
}

void Collective::finish_backward() {
  torch::NoGradGuard no_grad;
  auto& o = *group_->overlap;
  o.armed = false;
  collective("gradient all-reduce", world_, [&] {
    while (o.next < o.buckets.size()) group_->launch(o.next++);  // parameters the loss did not reach: zeros
    for (auto& w : o.work) w->wait();
  });
  for (size_t b = 0; b < o.buckets.size(); ++b) {
    o.flat[b].div_(world_.world_size);
    int64_t at = 0;
    for (size_t i : o.buckets[b]) {
      auto& p = o.params[i];
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      p.grad().copy_(o.flat[b].narrow(0, at, p.numel()).view(p.sizes()));
      at += p.numel();
    }
  }
  reduced_bytes_ += overlapped_bytes_;
}

bool Collective::overlapping() const { return group_->overlap != nullptr; }

void Collective::announce(const std::string& what) {
  collective("announcement", world_, [&] { group_->store->set("ready/" + what, std::vector<uint8_t>{1}); });
}

void Collective::await_announcement(const std::string& what) {
  collective("waiting for rank 0", world_, [&] { group_->store->wait({"ready/" + what}, std::chrono::hours(24 * 7)); });
}

void Collective::require_same(const std::string& what, const std::string& value) {
  const std::string key = "check/" + std::to_string(checks_++) + "/";
  std::vector<std::string> differ;
  collective("consistency check", world_, [&] {
    group_->store->set(key + std::to_string(world_.rank), std::vector<uint8_t>(value.begin(), value.end()));
    const auto first = group_->store->get(key + "0");
    for (int r = 1; r < world_.world_size; ++r) {
      const auto other = group_->store->get(key + std::to_string(r));
      if (other != first) differ.push_back(std::to_string(r));
    }
  });
  if (differ.empty()) return;
  std::string list;
  for (const auto& r : differ) list += (list.empty() ? "" : ", ") + r;
  throw Error(what + " differs between rank 0 and rank" + (differ.size() > 1 ? "s " : " ") + list +
              ": start every rank with the same engram binary and the same config");
}

namespace {
std::string fingerprint(const std::string& bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%016zx", std::hash<std::string>{}(bytes));
  return text;
}
}  // namespace

std::unique_ptr<Collective> join_group(const std::string& config_text) {
  const WorldInfo world = world_from_environment();
  if (!world.distributed()) return nullptr;
  int64_t seconds = 300;
  if (const char* t = std::getenv("ENGRAM_RENDEZVOUS_TIMEOUT"); t && *t) seconds = std::max(1L, std::atol(t));
  auto group = std::make_unique<Collective>(world, std::chrono::seconds(seconds));
  std::ifstream self("/proc/self/exe", std::ios::binary);
  std::ostringstream bytes;
  bytes << self.rdbuf();
  group->require_same("the engram binary", fingerprint(bytes.str()));
  group->require_same("the resolved config", fingerprint(config_text));
  const char* overlap = std::getenv("ENGRAM_OVERLAP_ALLREDUCE");  // the all-reduce schedule must agree
  group->require_same("ENGRAM_OVERLAP_ALLREDUCE", overlap ? overlap : "");
  return group;
}

}  // namespace engram

#include "engram/core/torch_file.h"

#include <cstring>
#include <map>

#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include "engram/core/error.h"

namespace engram {

PyRef PyValue::get(const std::string& key) const {
  for (const auto& [k, v] : entries)
    if (k->kind == Kind::String && k->text == key) return v;
  return nullptr;
}

std::string PyValue::kind_name() const {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Tensor: return "tensor";
    case Kind::Global: return "global " + text;
    case Kind::Object: return "object " + text;
  }
  return "?";
}

namespace {

PyRef make(PyValue::Kind kind) {
  auto v = std::make_shared<PyValue>();
  v->kind = kind;
  return v;
}

PyRef make_int(int64_t i) {
  auto v = make(PyValue::Kind::Int);
  v->integer = i;
  return v;
}

PyRef make_string(PyValue::Kind kind, std::string s) {
  auto v = make(kind);
  v->text = std::move(s);
  return v;
}

// Storage classes as torch.save names them (`torch.FloatStorage`, ...).
torch::Dtype storage_dtype(const std::string& name) {
  static const std::map<std::string, torch::Dtype> dtypes = {
      {"torch.FloatStorage", torch::kFloat32},   {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},    {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},      {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},     {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},      {"torch.BoolStorage", torch::kBool},
  };
  auto it = dtypes.find(name);
  if (it == dtypes.end()) throw Error("unsupported storage type " + name);
  return it->second;
}

std::vector<int64_t> int_tuple(const PyValue& v, const char* what) {
  if (v.kind != PyValue::Kind::Tuple) throw Error(std::string("tensor ") + what + " is a " + v.kind_name() + ", not a tuple");
  std::vector<int64_t> out;
  for (const auto& item : v.items) {
    if (item->kind != PyValue::Kind::Int) throw Error(std::string("tensor ") + what + " holds a " + item->kind_name());
    out.push_back(item->integer);
  }
  return out;
}

class Unpickler {
 public:
  Unpickler(caffe2::serialize::PyTorchStreamReader& archive, const std::string& bytes)
      : archive_(archive), p_(reinterpret_cast<const uint8_t*>(bytes.data())), end_(p_ + bytes.size()) {}

  PyRef run() {
    while (true) {
      const uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;                                 // PROTO
        case 0x95: take(8); break;                                // FRAME: only a length hint
        case '.': return pop();                                   // STOP
        case '(': marks_.push_back(stack_.size()); break;         // MARK
        case 'N': push(make(PyValue::Kind::None)); break;
        case 0x88: case 0x89: {                                   // NEWTRUE, NEWFALSE
          auto v = make(PyValue::Kind::Bool);
          v->boolean = op == 0x88;
          push(v);
          break;
        }
        case 'K': push(make_int(byte())); break;                  // BININT1
        case 'M': push(make_int(unsigned_le(2))); break;          // BININT2
        case 'J': push(make_int(static_cast<int32_t>(unsigned_le(4)))); break;  // BININT
        case 0x8a: push(make_int(long1())); break;                // LONG1
        case 'G': {                                               // BINFLOAT: big-endian double
          uint64_t bits = 0;
          for (int i = 0; i < 8; ++i) bits = (bits << 8) | byte();
          auto v = make(PyValue::Kind::Float);
          std::memcpy(&v->number, &bits, 8);
          push(v);
          break;
        }
        case 'X': push(make_string(PyValue::Kind::String, take(unsigned_le(4)))); break;  // BINUNICODE
        case 0x8c: push(make_string(PyValue::Kind::String, take(byte()))); break;        // SHORT_BINUNICODE
        case 'B': push(make_string(PyValue::Kind::Bytes, take(unsigned_le(4)))); break;  // BINBYTES
        case 'C': push(make_string(PyValue::Kind::Bytes, take(byte()))); break;          // SHORT_BINBYTES
        case ')': push(make(PyValue::Kind::Tuple)); break;        // EMPTY_TUPLE
        case ']': push(make(PyValue::Kind::List)); break;         // EMPTY_LIST
        case '}': push(make(PyValue::Kind::Dict)); break;         // EMPTY_DICT
        case 't': push(tuple(pop_mark())); break;                 // TUPLE
        case 0x85: case 0x86: case 0x87: {                        // TUPLE1, TUPLE2, TUPLE3
          const size_t n = op - 0x84;
          need(n);
          std::vector<PyRef> items(stack_.end() - n, stack_.end());
          stack_.resize(stack_.size() - n);
          push(tuple(std::move(items)));
          break;
        }
        case 'a': {                                               // APPEND
          auto item = pop();
          as(top(), PyValue::Kind::List, "APPEND").items.push_back(item);
          break;
        }
        case 'e': {                                               // APPENDS
          auto items = pop_mark();
          auto& list = as(top(), PyValue::Kind::List, "APPENDS").items;
          list.insert(list.end(), items.begin(), items.end());
          break;
        }
        case 's': {                                               // SETITEM
          auto value = pop();
          auto key = pop();
          as(top(), PyValue::Kind::Dict, "SETITEM").entries.emplace_back(key, value);
          break;
        }
        case 'u': {                                               // SETITEMS
          auto items = pop_mark();
          if (items.size() % 2) throw Error("SETITEMS with an odd number of items");
          auto& dict = as(top(), PyValue::Kind::Dict, "SETITEMS");
          for (size_t i = 0; i < items.size(); i += 2) dict.entries.emplace_back(items[i], items[i + 1]);
          break;
        }
        case 'q': memo_[byte()] = top(); break;                   // BINPUT
        case 'r': memo_[unsigned_le(4)] = top(); break;           // LONG_BINPUT
        case 0x94: memo_[memo_.size()] = top(); break;            // MEMOIZE
        case 'h': push(memo(byte())); break;                      // BINGET
        case 'j': push(memo(unsigned_le(4))); break;              // LONG_BINGET
        case 'c': {                                               // GLOBAL "module\nname\n"
          std::string module = line(), name = line();
          push(make_string(PyValue::Kind::Global, module + "." + name));
          break;
        }
        case 0x93: {                                              // STACK_GLOBAL
          auto name = pop(), module = pop();
          push(make_string(PyValue::Kind::Global, module->text + "." + name->text));
          break;
        }
        case 'Q': push(persistent(pop())); break;                 // BINPERSID
        case 'R': {                                               // REDUCE
          auto args = pop();
          auto callable = pop();
          push(reduce(*callable, *args));
          break;
        }
        case 0x81: {                                              // NEWOBJ
          pop();
          push(make_string(PyValue::Kind::Object, pop()->text));
          break;
        }
        case 'b': pop(); break;  // BUILD: object state (e.g. a state dict's `_metadata`), not needed
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          throw Error(std::string("unsupported pickle opcode ") + hex + " at byte " + std::to_string(offset() - 1));
        }
      }
    }
  }

 private:
  size_t offset() const { return static_cast<size_t>(p_ - begin_); }
  uint8_t byte() {
    if (p_ >= end_) throw Error("pickle ends early");
    return *p_++;
  }
  std::string take(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) throw Error("pickle ends early");
    std::string s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
  }
  uint64_t unsigned_le(int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(byte()) << (8 * i);
    return v;
  }
  int64_t long1() {
    const int n = byte();
    if (n > 8) throw Error("integer wider than 64 bits in pickle");
    if (n == 0) return 0;
    uint64_t v = unsigned_le(n);
    if (n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<int64_t>(v);
  }
  std::string line() {
    std::string s;
    for (char c; (c = static_cast<char>(byte())) != '\n';) s += c;
    return s;
  }

  void need(size_t n) const {
    if (stack_.size() < n) throw Error("pickle stack underflow");
  }
  void push(PyRef v) { stack_.push_back(std::move(v)); }
  PyRef pop() {
    need(1);
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  PyRef& top() {
    need(1);
    return stack_.back();
  }
  std::vector<PyRef> pop_mark() {
    if (marks_.empty()) throw Error("pickle MARK missing");
    const size_t m = marks_.back();
    marks_.pop_back();
    if (m > stack_.size()) throw Error("pickle MARK lies above the stack");
    std::vector<PyRef> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  PyRef memo(uint64_t key) const {
    auto it = memo_.find(key);
    if (it == memo_.end()) throw Error("pickle refers to memo entry " + std::to_string(key) + " before it was stored");
    return it->second;
  }
  static PyValue& as(PyRef& v, PyValue::Kind kind, const char* op) {
    if (v->kind != kind) throw Error(std::string(op) + " applied to a " + v->kind_name());
    return *v;
  }
  static PyRef tuple(std::vector<PyRef> items) {
    auto t = make(PyValue::Kind::Tuple);
    t->items = std::move(items);
    return t;
  }

  // ('storage', storage class, key, location, numel): the raw bytes in record data/<key>.
  PyRef persistent(const PyRef& pid) {
    if (pid->kind != PyValue::Kind::Tuple || pid->items.size() < 5 || pid->items[0]->text != "storage")
      throw Error("unsupported persistent id in pickle (not a tensor storage)");
    const torch::Dtype dtype = storage_dtype(pid->items[1]->text);
    const std::string key = pid->items[2]->text;
    const int64_t numel = pid->items[4]->integer;
    const std::string record = "data/" + key;
    if (!archive_.hasRecord(record)) throw Error("storage record " + record + " is missing from the archive");
    auto [data, size] = archive_.getRecord(record);
    const size_t expected = static_cast<size_t>(numel) * torch::elementSize(dtype);
    if (size != expected)
      throw Error("storage record " + record + " holds " + std::to_string(size) + " bytes, expected " + std::to_string(expected));
    auto storage = make(PyValue::Kind::Tensor);
    storage->tensor = torch::empty({numel}, torch::TensorOptions().dtype(dtype));
    if (size) std::memcpy(storage->tensor.data_ptr(), data.get(), size);
    return storage;
  }

  PyRef reduce(const PyValue& callable, const PyValue& args) {
    if (callable.kind != PyValue::Kind::Global) return make_string(PyValue::Kind::Object, "?");
    const std::string& name = callable.text;
    if (name == "collections.OrderedDict") return make(PyValue::Kind::Dict);
    if (name == "torch._utils._rebuild_tensor_v2") {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      if (args.items.size() < 4 || args.items[0]->kind != PyValue::Kind::Tensor)
        throw Error("malformed _rebuild_tensor_v2 arguments");
      const auto& storage = args.items[0]->tensor;
      auto sizes = int_tuple(*args.items[2], "size"), strides = int_tuple(*args.items[3], "stride");
      const int64_t offset = args.items[1]->integer;
      int64_t last = offset;
      for (size_t i = 0; i < sizes.size(); ++i)
        if (sizes[i] == 0) last = -1;
      if (last >= 0)
        for (size_t i = 0; i < sizes.size(); ++i) last += (sizes[i] - 1) * strides[i];
      if (last >= storage.numel()) throw Error("tensor view reaches past its storage");
      auto t = make(PyValue::Kind::Tensor);
      t->tensor = storage.as_strided(sizes, strides, offset).clone();
      return t;
    }
    if (name == "torch._utils._rebuild_parameter") {
      if (args.items.empty() || args.items[0]->kind != PyValue::Kind::Tensor) throw Error("malformed _rebuild_parameter arguments");
      return args.items[0];
    }
    return make_string(PyValue::Kind::Object, name);
  }

  caffe2::serialize::PyTorchStreamReader& archive_;
  const uint8_t* p_;
  const uint8_t* end_;
  const uint8_t* begin_ = p_;
  std::vector<PyRef> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, PyRef> memo_;
};

}  // namespace

PyRef read_torch_file(const std::string& path) {
  try {
    caffe2::serialize::PyTorchStreamReader archive(path);
    if (archive.hasRecord("byteorder")) {
      auto [data, size] = archive.getRecord("byteorder");
      if (std::string(static_cast<const char*>(data.get()), size) != "little")
        throw Error("tensors are stored big-endian; only little-endian files are supported");
    }
    if (!archive.hasRecord("data.pkl")) throw Error("no data.pkl record: not a torch.save archive");
    auto [data, size] = archive.getRecord("data.pkl");
    const std::string bytes(static_cast<const char*>(data.get()), size);
    return Unpickler(archive, bytes).run();
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  } catch (const c10::Error& e) {
    // The legacy (pre-1.6, non-zip) format and damaged archives end here.
    throw Error(path + ": not a readable torch.save zip archive (" + e.what_without_backtrace() + ")");
  }
}

std::vector<std::pair<std::string, torch::Tensor>> tensor_dict(const PyValue& value, const std::string& where) {
  if (value.kind != PyValue::Kind::Dict) throw Error(where + " is a " + value.kind_name() + ", not a dict of tensors");
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& [k, v] : value.entries) {
    if (k->kind != PyValue::Kind::String) continue;
    if (v->kind != PyValue::Kind::Tensor) throw Error(where + "[" + k->text + "] is a " + v->kind_name() + ", not a tensor");
    out.emplace_back(k->text, v->tensor);
  }
  return out;
}

}  // namespace engram

#include "daemon/engine/store.hpp"

namespace coordd {

const Record* Store::find(const RecordRef& ref) const {
  auto root = roots_.find(ref.root);
  if (root == roots_.end()) return nullptr;
  const KindRecords& records = root->second[static_cast<std::size_t>(ref.kind)];
  auto it = records.find(ref.id);
  return it == records.end() ? nullptr : &it->second;
}

Record* Store::find(const RecordRef& ref) {
  return const_cast<Record*>(static_cast<const Store*>(this)->find(ref));
}

Record& Store::put(const RecordRef& ref, Record record) {
  KindRecords& records = roots_[ref.root][static_cast<std::size_t>(ref.kind)];
  auto [it, inserted] = records.insert_or_assign(ref.id, std::move(record));
  if (inserted) {
    ++size_;
    ++per_kind_[static_cast<std::size_t>(ref.kind)];
  }
  return it->second;
}

std::optional<Record> Store::take(const RecordRef& ref) {
  auto root = roots_.find(ref.root);
  if (root == roots_.end()) return std::nullopt;
  KindRecords& records = root->second[static_cast<std::size_t>(ref.kind)];
  auto it = records.find(ref.id);
  if (it == records.end()) return std::nullopt;
  Record record = std::move(it->second);
  records.erase(it);
  --size_;
  --per_kind_[static_cast<std::size_t>(ref.kind)];
  return record;
}

const Store::KindRecords& Store::records(RootId root, Kind kind) const {
  static const KindRecords kEmpty;
  auto it = roots_.find(root);
  return it == roots_.end() ? kEmpty : it->second[static_cast<std::size_t>(kind)];
}

void Store::reserve(RootId root, Kind kind, std::size_t n) {
  roots_[root][static_cast<std::size_t>(kind)].reserve(n);
}

void Store::drop_root(RootId root) {
  auto it = roots_.find(root);
  if (it == roots_.end()) return;
  for (Kind kind : kAllKinds) {
    std::size_t n = it->second[static_cast<std::size_t>(kind)].size();
    per_kind_[static_cast<std::size_t>(kind)] -= n;
    size_ -= n;
  }
  roots_.erase(it);
}

}  // namespace coordd

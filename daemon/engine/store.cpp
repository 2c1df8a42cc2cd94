#include "daemon/engine/store.hpp"

namespace coordd {

const Record* Store::find(const RecordRef& ref) const {
  auto root = roots_.find(ref.root);
  if (root == roots_.end()) return nullptr;
  const KindRecords& records = root->second[static_cast<std::size_t>(ref.kind)];
  return records.find(ref.id);
}

Record* Store::find(const RecordRef& ref) {
  return const_cast<Record*>(static_cast<const Store*>(this)->find(ref));
}

Record& Store::put(const RecordRef& ref, std::string_view json, PooledString run_id,
                   PooledString branch, const FileStamp& stamp) {
  KindRecords& records = roots_[ref.root][static_cast<std::size_t>(ref.kind)];
  auto [record, inserted] =
      records.put(Record::make(ref.id, json, std::move(run_id), std::move(branch), stamp));
  if (inserted) {
    ++size_;
    ++per_kind_[static_cast<std::size_t>(ref.kind)];
  }
  return *record;
}

Record::Ptr Store::take(const RecordRef& ref) {
  auto root = roots_.find(ref.root);
  if (root == roots_.end()) return nullptr;
  Record::Ptr record = root->second[static_cast<std::size_t>(ref.kind)].take(ref.id);
  if (record) {
    --size_;
    --per_kind_[static_cast<std::size_t>(ref.kind)];
  }
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

// PointerTable: a hash table of owned nodes that carry their own keys, for
// what the engine holds one of per record (records, leases) and 1M of
// (bench/: scale). An open-addressing array of node pointers, with a byte of
// each key's hash beside every slot: no per-entry node of the table's own
// (std::unordered_map's is a pointer, a cached key and padding), 9 bytes per
// slot at most 4 entries in 5 slots, and a lookup that touches a node only
// when its hash byte matches. Nodes never move: pointers to them stay valid
// until they are replaced or taken.
//
// Traits provides: `Key` (a cheap view), `static Key key(const Node&)`,
// `static std::size_t hash(const Key&)` and `Deleter`, which frees a node.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <utility>

namespace coordd {

template <class Node, class Traits>
class PointerTable {
 public:
  using Key = typename Traits::Key;
  using Ptr = std::unique_ptr<Node, typename Traits::Deleter>;

  PointerTable() = default;
  PointerTable(const PointerTable&) = delete;
  PointerTable& operator=(const PointerTable&) = delete;
  PointerTable(PointerTable&& other) noexcept { steal(other); }
  PointerTable& operator=(PointerTable&& other) noexcept {
    if (this != &other) {
      clear();
      steal(other);
    }
    return *this;
  }
  ~PointerTable() { clear(); }

  // Visits every node, in no particular order.
  template <class Value>
  class basic_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Value;
    using difference_type = std::ptrdiff_t;
    using pointer = Value*;
    using reference = Value&;
    basic_iterator() = default;
    reference operator*() const { return **slot_; }
    pointer operator->() const { return *slot_; }
    basic_iterator& operator++() {
      ++slot_;
      skip_empty();
      return *this;
    }
    basic_iterator operator++(int) {
      basic_iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const basic_iterator& other) const { return slot_ == other.slot_; }

   private:
    friend class PointerTable;
    basic_iterator(Node* const* slot, Node* const* end) : slot_(slot), end_(end) { skip_empty(); }
    void skip_empty() {
      while (slot_ != end_ && *slot_ == nullptr) ++slot_;
    }
    Node* const* slot_ = nullptr;
    Node* const* end_ = nullptr;
  };
  using iterator = basic_iterator<Node>;
  using const_iterator = basic_iterator<const Node>;
  const_iterator begin() const { return {slots_.get(), slots_.get() + capacity_}; }
  const_iterator end() const { return {slots_.get() + capacity_, slots_.get() + capacity_}; }
  iterator begin() { return {slots_.get(), slots_.get() + capacity_}; }
  iterator end() { return {slots_.get() + capacity_, slots_.get() + capacity_}; }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  Node* find(const Key& key) const {
    if (size_ == 0) return nullptr;
    // A miss ends on an empty tag: the slot array (8 times the tags' bytes,
    // so a cache miss of its own) is not read for it.
    std::size_t i = slot_of(key, Traits::hash(key));
    return tags_[i] == 0 ? nullptr : slots_[i];
  }

  // Stores `node`, replacing (and freeing) the one with its key if any;
  // returns it and whether it was new.
  std::pair<Node*, bool> put(Ptr node) {
    if ((size_ + 1) * 5 > capacity_ * 4) rehash(std::max(capacity_for(size_ + 1), capacity_ * 2));
    const Key key = Traits::key(*node);
    const std::size_t hash = Traits::hash(key);
    const std::size_t i = slot_of(key, hash);
    const bool fresh = tags_[i] == 0;
    if (fresh) {
      ++size_;
    } else {
      Ptr replaced(slots_[i]);
    }
    slots_[i] = node.release();
    tags_[i] = tag_of(hash);
    return {slots_[i], fresh};
  }

  // Removes the node with `key` and hands it over (null when absent).
  Ptr take(const Key& key) {
    if (size_ == 0) return nullptr;
    std::size_t hole = slot_of(key, Traits::hash(key));
    if (tags_[hole] == 0) return nullptr;
    Ptr out(slots_[hole]);
    --size_;
    // Backward-shift deletion: pull each later node of the probe run into
    // the hole unless that would put it before its home slot.
    for (std::size_t j = next(hole); tags_[j] != 0; j = next(j)) {
      std::size_t home = home_of(Traits::hash(Traits::key(*slots_[j])));
      bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (stays) continue;
      slots_[hole] = slots_[j];
      tags_[hole] = tags_[j];
      hole = j;
    }
    slots_[hole] = nullptr;
    tags_[hole] = 0;
    return out;
  }

  // Room for `n` nodes without growing.
  void reserve(std::size_t n) {
    if (capacity_for(n) > capacity_) rehash(capacity_for(n));
  }

 private:
  // At most 4 nodes per 5 slots: a miss probes about 13 tag bytes on
  // average, in one or two cache lines, and touches no node.
  static constexpr std::size_t kMinCapacity = 8;
  static std::size_t capacity_for(std::size_t n) { return std::max(kMinCapacity, n + n / 4 + 1); }
  // A slot's tag: 0 when empty, else 0x80 | 7 bits of its key's hash.
  static std::uint8_t tag_of(std::size_t hash) { return 0x80 | (hash & 0x7f); }
  std::size_t home_of(std::size_t hash) const { return hash % capacity_; }
  std::size_t next(std::size_t i) const { return i + 1 == capacity_ ? 0 : i + 1; }

  // The slot holding `key`, or the empty slot ending its probe.
  std::size_t slot_of(const Key& key, std::size_t hash) const {
    const std::uint8_t tag = tag_of(hash);
    for (std::size_t i = home_of(hash);; i = next(i)) {
      if (tags_[i] == 0) return i;
      if (tags_[i] == tag && Traits::key(*slots_[i]) == key) return i;
    }
  }

  void rehash(std::size_t capacity) {
    auto old_slots = std::move(slots_);
    std::size_t old_capacity = capacity_;
    slots_ = std::make_unique<Node*[]>(capacity);  // value-initialized: all null
    tags_ = std::make_unique<std::uint8_t[]>(capacity);
    capacity_ = capacity;
    for (std::size_t i = 0; i < old_capacity; ++i) {
      Node* node = old_slots[i];
      if (node == nullptr) continue;
      std::size_t hash = Traits::hash(Traits::key(*node));
      std::size_t j = home_of(hash);
      while (tags_[j] != 0) j = next(j);
      slots_[j] = node;
      tags_[j] = tag_of(hash);
    }
  }

  void clear() {
    for (std::size_t i = 0; i < capacity_; ++i) Ptr owned(slots_[i]);
    slots_.reset();
    tags_.reset();
    capacity_ = size_ = 0;
  }

  void steal(PointerTable& other) {
    slots_ = std::move(other.slots_);
    tags_ = std::move(other.tags_);
    capacity_ = std::exchange(other.capacity_, 0);
    size_ = std::exchange(other.size_, 0);
  }

  std::unique_ptr<Node*[]> slots_;
  std::unique_ptr<std::uint8_t[]> tags_;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
};

}  // namespace coordd

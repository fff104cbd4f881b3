/*
 * peer-boost.cpp - Boost.Interprocess, through its public API, for
 * bench/peers (see peer.h).  Named segments: shared_memory_object
 * (create_only, truncate) mapped by a mapped_region, a second
 * shared_memory_object (open_only) and region, then remove.  Anonymous:
 * anonymous_shared_memory, shared with children forked afterwards.  Its
 * allocator is managed_shared_memory's (rbtree_best_fit, under an
 * interprocess_mutex), in a named segment removed at the end.
 */
#include <boost/interprocess/anonymous_shared_memory.hpp>
#include <boost/interprocess/managed_shared_memory.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cstdint>
#include <cstdio>
#include <new>
#include <string>
#include <unistd.h>

#include "peer.h"

namespace bip = boost::interprocess;

static void *make(size_t len, void **handle)
{
	try {
		auto *region = new bip::mapped_region(bip::anonymous_shared_memory(len));
		*handle = region;
		return region->get_address();
	} catch (const std::exception &e) {
		std::fprintf(stderr, "peer-boost: anonymous_shared_memory: %s\n", e.what());
		return nullptr;
	}
}

static void unmake(void *handle)
{
	delete static_cast<bip::mapped_region *>(handle);
}

static int named_cycle(const char *name, size_t len)
{
	try {
		{
			bip::shared_memory_object created(bip::create_only, name, bip::read_write);
			created.truncate(static_cast<bip::offset_t>(len));
			bip::mapped_region mine(created, bip::read_write);
			bip::shared_memory_object opened(bip::open_only, name, bip::read_write);
			bip::mapped_region theirs(opened, bip::read_write);
		}
		bip::shared_memory_object::remove(name);
		return 0;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "peer-boost: shared_memory_object: %s\n", e.what());
		bip::shared_memory_object::remove(name);
		return -1;
	}
}

static int anonymous_cycle(size_t len)
{
	try {
		bip::mapped_region region(bip::anonymous_shared_memory(len));
		return 0;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "peer-boost: anonymous_shared_memory: %s\n", e.what());
		return -1;
	}
}

static std::string heap_name()
{
	return "bench-boost-heap-" + std::to_string(getpid());
}

static void *heap_make(size_t len)
{
	try {
		bip::shared_memory_object::remove(heap_name().c_str());
		return new bip::managed_shared_memory(bip::create_only, heap_name().c_str(), len);
	} catch (const std::exception &e) {
		std::fprintf(stderr, "peer-boost: managed_shared_memory: %s\n", e.what());
		return nullptr;
	}
}

static void heap_unmake(void *heap)
{
	delete static_cast<bip::managed_shared_memory *>(heap);
	bip::shared_memory_object::remove(heap_name().c_str());
}

static void *heap_alloc(void *heap, size_t size, uintptr_t *token)
{
	void *p = static_cast<bip::managed_shared_memory *>(heap)->allocate(size, std::nothrow);
	*token = reinterpret_cast<uintptr_t>(p);
	return p;
}

static void heap_free(void *heap, uintptr_t token)
{
	static_cast<bip::managed_shared_memory *>(heap)->deallocate(reinterpret_cast<void *>(token));
}

int main(int argc, char **argv)
{
	peer_ops ops{};
	ops.label = "Boost.Interprocess";
	ops.make = make;
	ops.unmake = unmake;
	ops.named_cycle = named_cycle;
	ops.anonymous_cycle = anonymous_cycle;
	ops.heap_label = "Boost managed_shared_memory";
	ops.heap_make = heap_make;
	ops.heap_unmake = heap_unmake;
	ops.heap_alloc = heap_alloc;
	ops.heap_free = heap_free;
	return peer_main(argc, argv, &ops);
}

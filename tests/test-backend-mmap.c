#include "testutil.h"
Test(todo, backend_mmap) { cr_assert(1); }

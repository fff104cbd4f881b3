#include "testutil.h"
Test(todo, transcript) { cr_assert(1); }

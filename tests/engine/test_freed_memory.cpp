// malloc's release policy while training runs (engine/runtime/freed_memory): a large block freed while
// the policy is active is reused without page faults, and handed back once the last holder is gone;
// a policy the user set in GLIBC_TUNABLES stands; the trainer holds it only where memory is plentiful,
// and gives it up when the machine runs short.
#include <torch/torch.h>

#include <QtTest>

#include "engine/runtime/freed_memory.hpp"
#include "engine/training/trainer.hpp"
#include "tests/support/guarded.hpp"
#include "tests/support/tiny_configs.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

using namespace srigl;

namespace {

constexpr size_t kBlock = 64u << 20; // above glibc's largest mmap threshold (32 MiB)

long minorFaults() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_minflt;
}

// Page faults taken by allocating and filling one large block, which stays allocated (freeBlock).
char* fillBlock(long& faults) {
    const long before = minorFaults();
    auto* block = static_cast<char*>(std::malloc(kBlock));
    if (block) std::memset(block, 1, kBlock);
    faults = minorFaults() - before;
    return block;
}

void freeBlock(char* block) {
    volatile char sink = block[kBlock - 1]; // the fill is used: the compiler keeps it
    (void)sink;
    std::free(block);
}

// Resident bytes of this process (/proc/self/statm's second field, in pages).
int64_t residentBytes() {
    long pages = 0, resident = 0;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        std::fclose(f);
    }
    return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

// Sets GLIBC_TUNABLES for the test's scope (our policy reads it; glibc read its own copy at start).
class TunablesScope {
public:
    explicit TunablesScope(const char* value) {
        if (const char* old = std::getenv("GLIBC_TUNABLES")) old_ = old;
        setenv("GLIBC_TUNABLES", value, 1);
    }
    ~TunablesScope() {
        if (old_) setenv("GLIBC_TUNABLES", old_->c_str(), 1);
        else unsetenv("GLIBC_TUNABLES");
    }

private:
    std::optional<std::string> old_;
};

} // namespace

class TestFreedMemory : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void keptBlocksAreReusedWithoutFaults();
    void userPolicyStands();
    void keepsOnlyWhereMemoryIsPlentiful();
    void trainerHoldsThePolicyWhileItLives();
};

// While kept, a freed 64 MiB block is filled again without a page fault and stays resident; when the
// last holder goes, those pages go back to the system.
void TestFreedMemory::keptBlocksAreReusedWithoutFaults() {
#if defined(__GLIBC__)
    QVERIFY(!freedMemoryKept());
    int64_t keptResident = 0;
    {
        KeptFreedMemory outer;
        QVERIFY(outer.active());
        QVERIFY(freedMemoryKept());
        long faults = 0;
        freeBlock(fillBlock(faults)); // the heap grows to hold it once
        char* again = fillBlock(faults);
        QVERIFY(again);
        qInfo("kept: %ld faults for a reused 64 MiB block", faults);
        QVERIFY2(faults < 16, qPrintable(QString::number(faults) + " faults"));
        freeBlock(again);
        {
            KeptFreedMemory inner; // a second holder: the first one's going must not end the policy
            QVERIFY(inner.active());
        }
        QVERIFY(freedMemoryKept());
        keptResident = residentBytes();
    }
    QVERIFY(!freedMemoryKept());
    const int64_t afterResident = residentBytes();
    qInfo("resident: %lld MiB kept, %lld MiB after the last holder went", static_cast<long long>(keptResident >> 20),
          static_cast<long long>(afterResident >> 20));
    QVERIFY2(keptResident - afterResident >= static_cast<int64_t>(kBlock / 2), "the kept block was not handed back");
#else
    QSKIP("the policy is glibc's malloc's");
#endif
}

void TestFreedMemory::userPolicyStands() {
    for (const char* tunables : {"glibc.malloc.mmap_max=65536", "glibc.malloc.hugetlb=1:glibc.malloc.trim_threshold=131072",
                                 "glibc.malloc.mmap_threshold=1048576"}) {
        TunablesScope scope(tunables);
        KeptFreedMemory kept;
        QVERIFY2(!kept.active(), tunables);
        QVERIFY(!freedMemoryKept());
    }
}

void TestFreedMemory::keepsOnlyWhereMemoryIsPlentiful() {
    constexpr uint64_t GiB = uint64_t{1} << 30;
    QVERIFY(keepFreedMemoryFor(1 * GiB, 8 * GiB));
    QVERIFY(!keepFreedMemoryFor(1 * GiB + 1, 8 * GiB));
    QVERIFY(!keepFreedMemoryFor(0, std::nullopt)); // nothing known: the system's policy
    QVERIFY(stillRoomForKeptMemory(2 * GiB, 8 * GiB));
    QVERIFY(!stillRoomForKeptMemory(2 * GiB - 1, 8 * GiB));
}

void TestFreedMemory::trainerHoldsThePolicyWhileItLives() {
#if !defined(__GLIBC__)
    QSKIP("the policy is glibc's malloc's");
#endif
    guarded([] {
        QVERIFY(!freedMemoryKept());
        {
            Trainer trainer(tinyRunConfig("32", 64, 1));
            QVERIFY(trainer.trainStep());
            // A tiny run on any machine that can run the tests is far below an eighth of its memory.
            QVERIFY(freedMemoryKept());
        }
        QVERIFY(!freedMemoryKept());
        TunablesScope scope("glibc.malloc.mmap_max=65536");
        Trainer trainer(tinyRunConfig("32", 64, 1));
        QVERIFY(trainer.trainStep());
        QVERIFY(!freedMemoryKept());
    });
}

QTEST_GUILESS_MAIN(TestFreedMemory)
#include "test_freed_memory.moc"

// A minimal unsigned big integer (add, multiply by a 64-bit word, decimal text, log10): enough to
// count transposable tile patterns exactly, which overflow 128 bits already for 16 x 16 tiles.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace srigl::nm {

class BigUint {
public:
    BigUint() = default;
    BigUint(uint64_t v) { if (v) limbs_.push_back(v); } // NOLINT: implicit from a word is the point

    BigUint& operator+=(const BigUint& other);
    BigUint& operator*=(uint64_t factor);
    friend BigUint operator*(BigUint a, uint64_t f) { return a *= f; }
    friend bool operator==(const BigUint& a, const BigUint& b) { return a.limbs_ == b.limbs_; }

    bool isZero() const { return limbs_.empty(); }
    bool fitsU64() const { return limbs_.size() <= 1; }
    uint64_t toU64() const { return limbs_.empty() ? 0 : limbs_[0]; } // low word
    std::string toString() const;
    double log10() const; // -inf for zero

private:
    std::vector<uint64_t> limbs_; // little-endian, no leading zero limbs
};

} // namespace srigl::nm

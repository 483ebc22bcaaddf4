// Schoolbook arithmetic on 64-bit limbs with 128-bit carries (GCC/Clang).
#include "engine/analysis/big_uint.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace srigl::nm {

namespace {
// __extension__ tells -Wpedantic that the 128-bit type is a deliberate GCC/Clang extension.
__extension__ typedef unsigned __int128 Wide;
} // namespace

BigUint& BigUint::operator+=(const BigUint& other) {
    if (limbs_.size() < other.limbs_.size()) limbs_.resize(other.limbs_.size(), 0);
    Wide carry = 0;
    for (size_t i = 0; i < limbs_.size(); ++i) {
        carry += limbs_[i];
        if (i < other.limbs_.size()) carry += other.limbs_[i];
        limbs_[i] = static_cast<uint64_t>(carry);
        carry >>= 64;
    }
    if (carry) limbs_.push_back(static_cast<uint64_t>(carry));
    return *this;
}

BigUint& BigUint::operator*=(uint64_t factor) {
    if (factor == 0) {
        limbs_.clear();
        return *this;
    }
    Wide carry = 0;
    for (auto& limb : limbs_) {
        carry += static_cast<Wide>(limb) * factor;
        limb = static_cast<uint64_t>(carry);
        carry >>= 64;
    }
    if (carry) limbs_.push_back(static_cast<uint64_t>(carry));
    return *this;
}

std::string BigUint::toString() const {
    if (limbs_.empty()) return "0";
    // Repeated division by 10^19 (the largest power of ten in a word), most significant limb first.
    const uint64_t base = 10000000000000000000ull;
    std::vector<uint64_t> v = limbs_;
    std::vector<uint64_t> chunks;
    while (!v.empty()) {
        Wide rem = 0;
        for (size_t i = v.size(); i-- > 0;) {
            const Wide cur = (rem << 64) | v[i];
            v[i] = static_cast<uint64_t>(cur / base);
            rem = cur % base;
        }
        chunks.push_back(static_cast<uint64_t>(rem));
        while (!v.empty() && v.back() == 0) v.pop_back();
    }
    std::string s = std::to_string(chunks.back());
    for (size_t i = chunks.size() - 1; i-- > 0;) {
        std::string part = std::to_string(chunks[i]);
        s += std::string(19 - part.size(), '0') + part;
    }
    return s;
}

double BigUint::log10() const {
    if (limbs_.empty()) return -std::numeric_limits<double>::infinity();
    // The top two limbs carry 128 bits, far more than a double's precision.
    const size_t k = limbs_.size();
    long double top = static_cast<long double>(limbs_[k - 1]);
    if (k >= 2) top = top * 18446744073709551616.0L + static_cast<long double>(limbs_[k - 2]);
    const double shift = static_cast<double>(k >= 2 ? k - 2 : 0) * 64.0 * std::log10(2.0);
    return static_cast<double>(std::log10(top)) + shift;
}

} // namespace srigl::nm

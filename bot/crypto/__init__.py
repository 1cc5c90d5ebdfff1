"""Keys, CSRs, key custody and export formats: pure functions on bytes."""

from bot.crypto.certinfo import (
    CertInfo,
    describe_certificate,
    key_matches_certificate,
    split_chain,
)
from bot.crypto.csr import CSRInfo, check_csr_names, load_csr, make_csr
from bot.crypto.custody import (
    Custody,
    Sealed,
    key_id,
    load_or_create_key_file,
    order_key_context,
    parse_master_key,
)
from bot.crypto.export import (
    KDF_ROUNDS,
    export_key_pem_encrypted,
    export_key_pem_plain,
    export_pfx,
)
from bot.crypto.keys import KEY_ALGORITHMS, generate_key

__all__ = [
    "order_key_context",
    "KDF_ROUNDS",
    "KEY_ALGORITHMS",
    "CSRInfo",
    "CertInfo",
    "Custody",
    "Sealed",
    "check_csr_names",
    "describe_certificate",
    "export_key_pem_encrypted",
    "export_key_pem_plain",
    "export_pfx",
    "generate_key",
    "key_id",
    "key_matches_certificate",
    "load_csr",
    "load_or_create_key_file",
    "make_csr",
    "parse_master_key",
    "split_chain",
]

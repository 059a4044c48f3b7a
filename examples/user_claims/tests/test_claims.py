"""Every claim of mytheory at smoke scale, one test each: ``pytest -k he-init`` runs one."""

from kernelcap.testing import claim_tests

test_claim = claim_tests("mytheory.claims")

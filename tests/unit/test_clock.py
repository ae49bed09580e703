import uuid

from mlmodel_emulator.clock import Ids, random_uuid


def test_random_uuid_is_a_version_4_uuid_in_canonical_form():
    for _ in range(1000):
        made = random_uuid()

        parsed = uuid.UUID(made)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == made


def test_random_uuid_draws_a_new_id_each_time():
    made = {random_uuid() for _ in range(1000)}

    assert len(made) == 1000


def test_ids_without_seed_are_version_4_uuids():
    made = Ids().new()

    assert uuid.UUID(made).version == 4

import os
import uuid
import warnings

from mlmodel_emulator import clock
from mlmodel_emulator.clock import Ids, random_uuid, random_uuids


def test_random_uuid_is_a_version_4_uuid_in_canonical_form():
    for _ in range(1000):
        made = random_uuid()

        parsed = uuid.UUID(made)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == made


def test_random_uuid_draws_a_new_id_each_time():
    made = {random_uuid() for _ in range(1000)}

    assert len(made) == 1000


def test_random_uuids_are_distinct_version_4_uuids_in_canonical_form():
    for n in (1, 2, 3, 255, 256, 1000):
        made = random_uuids(n)

        assert len(made) == n
        assert len(set(made)) == n
        for one in made:
            parsed = uuid.UUID(one)
            assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
            assert str(parsed) == one


def test_random_uuids_keep_every_other_bit_random():
    made = [uuid.UUID(one).int for one in random_uuids(2000)]
    # Each of the 122 random bits is set in some id and clear in another.
    fixed = (0xF << 76) | (0x3 << 62)
    ones = 0
    zeros = 0
    for value in made:
        ones |= value
        zeros |= ~value
    every = (1 << 128) - 1
    assert ones | fixed == every
    assert (zeros & every) | fixed == every


def test_random_uuid_goes_on_past_a_batch():
    made = [random_uuid() for _ in range(3 * 256 + 7)]

    assert len(set(made)) == len(made)
    assert all(uuid.UUID(one).version == 4 for one in made)


def test_a_forked_process_gives_none_of_its_parents_ids():
    random_uuid()  # the pool now holds ids made in this process
    pending = set(clock._POOL)
    assert pending
    read, write = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12 warns of forking a process with threads; this child only writes.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        os.write(write, random_uuid().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)

    assert uuid.UUID(child).version == 4
    assert child not in pending


def test_ids_without_seed_are_version_4_uuids():
    made = Ids().new()

    assert uuid.UUID(made).version == 4

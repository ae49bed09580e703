"""POST /api/v1/services/mlmodelServices."""

from __future__ import annotations

import pytest

from tests.factories import SERVICES_URL, create_request


def test_create_seed_request_returns_201_with_seed_shape(client, auth_headers):
    payload = {
        "name": "mlflow_svc",
        "displayName": "MLflow Production",
        "serviceType": "Mlflow",
        "description": "Production MLflow tracking server",
        "connection": {
            "config": {
                "type": "Mlflow",
                "trackingUri": "http://localhost:8088",
                "registryUri": "http://localhost:8088",
                "supportsMetadataExtraction": True,
            }
        },
    }

    response = client.post(SERVICES_URL, json=payload, headers=auth_headers)

    assert response.status_code == 201
    body = response.json()
    href = f"http://testserver/api/v1/services/mlmodelServices/{body['id']}"
    assert response.headers["Location"] == href
    assert response.headers["X-OpenMetadata-Change"] == "entityCreated"
    assert body == {
        "id": body["id"],
        "name": "mlflow_svc",
        "fullyQualifiedName": "mlflow_svc",
        "displayName": "MLflow Production",
        "serviceType": "Mlflow",
        "description": "Production MLflow tracking server",
        "version": 0.1,
        "updatedAt": body["updatedAt"],
        "updatedBy": "admin",
        "href": href,
        "connection": payload["connection"],
        "owners": [],
        "tags": [],
        "deleted": False,
        "domains": [],
    }
    assert isinstance(body["updatedAt"], int)
    assert body["updatedAt"] > 1_700_000_000_000


def test_create_without_config_type_fills_it_from_service_type(client, auth_headers):
    response = client.post(SERVICES_URL, json=create_request(), headers=auth_headers)

    assert response.status_code == 201
    assert response.json()["connection"]["config"] == {
        "type": "Mlflow",
        "trackingUri": "http://localhost:5000",
        "registryUri": "http://localhost:8080",
        "supportsMetadataExtraction": True,
    }


def test_create_without_connection_stores_no_connection(client, auth_headers):
    payload = {"name": "bare", "serviceType": "Sklearn"}

    response = client.post(SERVICES_URL, json=payload, headers=auth_headers)

    assert response.status_code == 201
    assert "connection" not in response.json()


def test_create_taken_name_returns_409(client, auth_headers):
    client.post(SERVICES_URL, json=create_request(), headers=auth_headers)

    response = client.post(SERVICES_URL, json=create_request(), headers=auth_headers)

    assert response.status_code == 409
    assert response.json() == {"code": 409, "message": "Entity already exists"}


@pytest.mark.parametrize(
    ("name", "fqn"),
    [
        pytest.param("my.svc", '"my.svc"', id="dot-quoted"),
        pytest.param("with space", "with space", id="space"),
        pytest.param("a/b", "a/b", id="slash"),
        pytest.param("Ünïcødé 模型", "Ünïcødé 模型", id="non-ascii"),
        pytest.param('"quoted.name"', '"quoted.name"', id="already-quoted"),
        pytest.param("x" * 256, "x" * 256, id="longest"),
    ],
)
def test_create_unusual_names_round_trip(client, auth_headers, name, fqn):
    response = client.post(SERVICES_URL, json=create_request(name), headers=auth_headers)

    assert response.status_code == 201
    assert response.json()["name"] == name
    assert response.json()["fullyQualifiedName"] == fqn


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        pytest.param(
            {"serviceType": "Mlflow"}, "[query param name must not be null]", id="no-name"
        ),
        pytest.param(
            {"name": None, "serviceType": "Mlflow"},
            "[query param name must not be null]",
            id="null-name",
        ),
        pytest.param(
            {"name": "", "serviceType": "Mlflow"},
            "[query param name size must be between 1 and 256]",
            id="empty-name",
        ),
        pytest.param(
            {"name": "x" * 257, "serviceType": "Mlflow"},
            "[query param name size must be between 1 and 256]",
            id="long-name",
        ),
        pytest.param(
            {"name": "invalid::Name", "serviceType": "Mlflow"},
            '[query param name must match "^((?!::).)*$"]',
            id="double-colon",
        ),
        pytest.param(
            {"name": "svc"}, "[query param serviceType must not be null]", id="no-service-type"
        ),
        pytest.param(
            {"name": "svc", "serviceType": "Foo"},
            "[query param serviceType must be one of [Mlflow, Sklearn, CustomMlModel, "
            "SageMaker, VertexAI]]",
            id="unknown-service-type",
        ),
        pytest.param(
            {"name": "svc", "serviceType": "Mlflow", "id": "x"},
            "[query param id is not a recognized field]",
            id="unknown-field",
        ),
        pytest.param(
            {"name": 5, "serviceType": "Mlflow"},
            "[query param name must be a string]",
            id="name-not-string",
        ),
        pytest.param(
            {"name": "svc", "serviceType": "Mlflow", "owners": [{"id": "not-a-uuid"}]},
            "[query param owners[0].id String should match pattern "
            "'^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$', "
            "query param owners[0].type must not be null]",
            id="bad-owner",
        ),
        pytest.param(
            {"name": "svc", "serviceType": "Mlflow", "connection": {"config": "text"}},
            "[query param connection.config must be an object]",
            id="config-not-object",
        ),
        pytest.param(
            {"name": "svc", "serviceType": "Mlflow", "connection": {"config": {"foo": 1}}},
            "Failed to encrypt 'Mlflow' connection stored in DB due to an unrecognized "
            "field: 'foo'",
            id="unknown-config-field",
        ),
        pytest.param(
            {
                "name": "svc",
                "serviceType": "SageMaker",
                "connection": {"config": {"awsConfig": {"awsRegion": 1}}},
            },
            "[query param connection.config.awsConfig.awsRegion must be a string]",
            id="nested-config-type",
        ),
        pytest.param(
            {"name": "svc", "serviceType": "Mlflow", "connection": {"config": {"type": "Sklearn"}}},
            "connection.config.type 'Sklearn' does not match serviceType 'Mlflow'",
            id="config-type-mismatch",
        ),
    ],
)
def test_create_invalid_request_returns_400_naming_the_field(
    client, auth_headers, payload, message
):
    response = client.post(SERVICES_URL, json=payload, headers=auth_headers)

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": message}


def test_create_malformed_json_returns_400(client, auth_headers):
    response = client.post(
        SERVICES_URL,
        content=b'{"name": "svc",',
        headers={**auth_headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 400
    assert body["message"].startswith("Malformed JSON in the request body")


def test_create_body_not_an_object_returns_400(client, auth_headers):
    response = client.post(SERVICES_URL, json=["x"], headers=auth_headers)

    assert response.status_code == 400
    assert response.json()["code"] == 400


def test_create_missing_required_config_fields_is_accepted_by_default(client, auth_headers):
    payload = {"name": "sm", "serviceType": "SageMaker", "connection": {"config": {}}}

    response = client.post(SERVICES_URL, json=payload, headers=auth_headers)

    assert response.status_code == 201
    assert response.json()["connection"]["config"] == {
        "type": "SageMaker",
        "supportsMetadataExtraction": True,
    }


def test_create_missing_required_config_fields_in_strict_mode_returns_400(
    make_client, auth_headers
):
    client = make_client(strict_connection_validation=True)
    payload = {"name": "ml", "serviceType": "Mlflow", "connection": {"config": {}}}

    response = client.post(SERVICES_URL, json=payload, headers=auth_headers)

    assert response.status_code == 400
    assert response.json()["message"] == (
        "[query param connection.config.trackingUri must not be null, "
        "query param connection.config.registryUri must not be null]"
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        pytest.param(
            "owners",
            [{"id": "0b7e2c5e-7a42-4d67-9d9c-7c8d2b0f0d1e", "type": "user"}],
            "user instance for 0b7e2c5e-7a42-4d67-9d9c-7c8d2b0f0d1e not found",
            id="owner-user",
        ),
        pytest.param(
            "domains", ["Marketing"], "domain instance for Marketing not found", id="domain"
        ),
        pytest.param(
            "tags",
            [{"tagFQN": "Unknown.Tag"}],
            "tag instance for Unknown.Tag not found",
            id="tag",
        ),
        pytest.param(
            "dataProducts", ["dp"], "dataProduct instance for dp not found", id="data-product"
        ),
    ],
)
def test_create_unknown_reference_returns_404_and_stores_nothing(
    client, auth_headers, field, value, message
):
    response = client.post(
        SERVICES_URL, json=create_request(**{field: value}), headers=auth_headers
    )

    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": message}
    listing = client.get(SERVICES_URL, headers=auth_headers).json()
    assert listing["paging"]["total"] == 0


def test_create_owner_of_wrong_type_returns_400(client, auth_headers):
    owner = {"id": "0b7e2c5e-7a42-4d67-9d9c-7c8d2b0f0d1e", "type": "table"}

    response = client.post(SERVICES_URL, json=create_request(owners=[owner]), headers=auth_headers)

    assert response.status_code == 400
    assert response.json()["message"] == (
        "Entity of type table can't be the owner. "
        "Only Team of type Group or a User can own entities."
    )


def test_create_empty_reference_lists_are_accepted(client, auth_headers):
    payload = create_request(owners=[], tags=[], domains=[], dataProducts=[])

    response = client.post(SERVICES_URL, json=payload, headers=auth_headers)

    assert response.status_code == 201


def test_create_public_url_setting_sets_href(make_client, auth_headers):
    client = make_client(public_url="https://catalog.example.com/api/")

    response = client.post(SERVICES_URL, json=create_request(), headers=auth_headers)

    body = response.json()
    assert (
        body["href"] == f"https://catalog.example.com/api/v1/services/mlmodelServices/{body['id']}"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            b'{"name": "a\\u0000b", "serviceType": "Mlflow"}',
            "[query param name must not contain the NUL character]",
            id="nul-in-name",
        ),
        pytest.param(
            b'{"name": "f", "serviceType": "Mlflow", "description": "\\ud800"}',
            "[query param description must not contain unpaired surrogates]",
            id="lone-surrogate",
        ),
        pytest.param(
            b'{"name": "big", "serviceType": "VertexAI", "connection": {"config": {"credentials":'
            b' {"gcpImpersonateServiceAccount": {"lifetime": 100000000000000000000000}}}}}',
            "[query param connection.config.credentials.gcpImpersonateServiceAccount.lifetime "
            "must be an integer within 64 bits]",
            id="huge-integer",
        ),
        pytest.param(
            b'{"name": "s", "serviceType": "CustomMlModel", "connection": {"config": '
            b'{"connectionOptions": {"k": "v\\u0000"}}}}',
            "[query param connection.config.connectionOptions.k must not contain the NUL "
            "character]",
            id="nul-in-config",
        ),
        pytest.param(
            b"[" * 100_000 + b"]" * 100_000, "There was an error parsing the body", id="deep"
        ),
    ],
)
def test_create_unstorable_values_return_400(client, auth_headers, body, message):
    response = client.post(
        SERVICES_URL, content=body, headers={**auth_headers, "Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": message}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("x'; DROP TABLE mlmodel_service; --", id="sql"),
        pytest.param('<script>alert("x")</script>', id="html"),
        pytest.param("%s %(name)s ? :param", id="placeholders"),
    ],
)
def test_create_hostile_looking_names_are_stored_verbatim(client, auth_headers, name):
    created = client.post(SERVICES_URL, json=create_request(name), headers=auth_headers)

    listed = client.get(SERVICES_URL, headers=auth_headers).json()
    fetched = client.get(f"{SERVICES_URL}/{created.json()['id']}", headers=auth_headers).json()

    assert created.status_code == 201
    assert fetched["name"] == name
    assert [item["name"] for item in listed["data"]] == [name]


_VALID = b'{"name": "%s", "serviceType": "Mlflow"}'
_JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"name": "svc",', _JSON),
        (b"", _JSON),
        (b"null", _JSON),
        (b'["x"]', _JSON),
        (b'"x"', _JSON),
        (b"{}", _JSON),
        (b'{"name": "svc", "serviceType": "Mlflow", "unknown": 1}', _JSON),
        (b'{"name": "svc", "serviceType": "Nope"}', _JSON),
        (b'{"name": "svc\\u0000", "serviceType": "Mlflow"}', _JSON),
        (b'{"name": "svc", "serviceType": "Mlflow", "description": "a\\ud800b"}', _JSON),
        (
            b'{"name": "s", "serviceType": "Mlflow", "connection": {"config": {"x": 1%s}}}'
            % (b"0" * 25),
            _JSON,
        ),
        (b'{"name": "svc", "serviceType": "Mlflow"}', {"Content-Type": "text/plain"}),
        (b'{"name": "svc", "serviceType": "Mlflow"}', {}),
        (b'{"name": "svc", "serviceType": "Mlflow", "connection": {"config": {"x": NaN}}}', _JSON),
        (b"\xff\xfe{", _JSON),
    ],
)
@pytest.mark.parametrize("authorized", [True, False])
def test_create_refused_body_answers_as_put_does(
    client, auth_headers, body, content_type, authorized
):
    # PUT reads the same model through FastAPI's own body parameter: POST's faster reading
    # must refuse exactly what it refuses, with the same words, in the same order as auth.
    headers = {**(auth_headers if authorized else {}), **content_type}

    created = client.post(SERVICES_URL, content=body, headers=headers)
    upserted = client.put(SERVICES_URL, content=body, headers=headers)

    assert created.status_code >= 400
    assert (created.status_code, created.json()) == (upserted.status_code, upserted.json())


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (_VALID % b"plain", "application/json"),
        (_VALID % b"vendor", "application/vnd.example+json; charset=utf-8"),
        ((_VALID % b"utf16").decode().encode("utf-16"), "application/json"),
        ("\ufeff".encode() + _VALID % b"bom", "application/json"),
    ],
)
def test_create_accepted_body_is_stored_as_put_stores_it(client, auth_headers, body, content_type):
    headers = {**auth_headers, "Content-Type": content_type}

    created = client.post(SERVICES_URL, content=body, headers=headers)
    client.delete(
        f"{SERVICES_URL}/{created.json().get('id')}?hardDelete=true", headers=auth_headers
    )
    upserted = client.put(SERVICES_URL, content=body, headers=headers)

    assert (created.status_code, upserted.status_code) == (201, 201)
    ignored = {"id", "updatedAt", "href"}
    assert {k: v for k, v in created.json().items() if k not in ignored} == {
        k: v for k, v in upserted.json().items() if k not in ignored
    }

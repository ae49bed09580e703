from tests.factories import SERVICES_URL, create_request


def test_create_then_get(client, auth_headers):
    created = client.post(SERVICES_URL, json=create_request(), headers=auth_headers)
    assert created.status_code == 201
    got = client.get(f"{SERVICES_URL}/{created.json()['id']}", headers=auth_headers)
    assert got.json()["name"] == "mlflow_svc"

from vigia.streams.geo import default_geocoder


def _codes(text):
    return [
        (p.municipality_code or p.department_code) for p in default_geocoder().places.find(text)
    ]


def test_municipality_and_department_mentions():
    assert _codes("Masacre en Tumaco, Nariño") == ["52835"]
    assert _codes("Combates en Tibú, Norte de Santander") == ["54810"]
    assert _codes("Disturbios en el Valle del Cauca") == ["76"]  # not Cauca


def test_ambiguous_names_need_their_department():
    assert _codes("Ataque en Argelia, Cauca") == ["19050"]
    assert _codes("Elecciones en Argelia") == []  # the country, or one of three municipalities
    assert _codes("Armenia amanece sin agua") == ["63001"]  # the department capital


def test_lower_case_words_and_foreign_names_are_not_places():
    assert _codes("un bello día en la paz de colombia") == []
    assert _codes("Colombia y Venezuela; Valencia y Sevilla") == []


def test_bogota_forms():
    assert _codes("Bogotá, D.C.: capturan a cabecilla en Medellín") == ["11001", "05001"]

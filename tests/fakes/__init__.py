"""Small fake KoBoToolbox and ODK Central servers, reached through real HTTP on 127.0.0.1."""

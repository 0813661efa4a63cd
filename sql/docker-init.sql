-- Run once by the postgres image when docker compose creates the server (docker-compose.yml).
CREATE DATABASE complaints;

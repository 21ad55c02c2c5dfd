mod dockerignore;

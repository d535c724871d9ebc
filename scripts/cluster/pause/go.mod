module workflow-studio-storage/pause

go 1.24

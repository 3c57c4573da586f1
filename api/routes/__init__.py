"""One APIRouter per resource; mounted in api.main."""
